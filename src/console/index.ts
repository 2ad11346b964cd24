/**
 * `baton console`'s parts as a library: the web server (page, SSE, JSON) and the group monitor
 * behind it, for embedding the console in another process.
 */
export { startConsole, type ConsoleServer, type ConsoleServerOptions } from './server.js'
export { GroupMonitor, type ConsoleSnapshot, type GroupHistory, type LagSample, type RebalanceEvent } from './monitor.js'
