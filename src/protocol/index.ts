/**
 * The protocol layer: bytes to typed messages and back. Pure code, no sockets and no timers.
 */
export * from './codec-runtime.js'
export * from './errors/base.js'
export * from './frame.js'
export * from './generated/index.js'
export { Reader } from './primitives/reader.js'
export { Writer } from './primitives/writer.js'
export * from './records/index.js'
export * from './errors/kafka-errors.js'
