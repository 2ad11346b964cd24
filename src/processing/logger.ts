/**
 * The application's default logger. The interface is the one every layer shares (`Logger`, from
 * the client); only here, at the application's entry, does baton choose pino and a level.
 */
import { pino } from 'pino'
import type { Logger } from '../client/index.js'

export { silentLogger, type Logger } from '../client/index.js'

export function defaultLogger(): Logger {
  return pino({ name: 'baton', level: process.env['BATON_LOG_LEVEL'] ?? 'info' })
}
