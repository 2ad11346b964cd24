/**
 * The logger interface baton writes to: the subset of pino's API it uses, so a pino logger fits as
 * is and any other logger fits through a small adapter.
 */
import { pino } from 'pino'

export interface Logger {
  debug(fields: object, message?: string): void
  info(fields: object, message?: string): void
  warn(fields: object, message?: string): void
  error(fields: object, message?: string): void
  child(bindings: Record<string, unknown>): Logger
}

export function defaultLogger(): Logger {
  return pino({ name: 'baton', level: process.env['BATON_LOG_LEVEL'] ?? 'info' })
}

/** A logger that drops everything, for tests and for users who log elsewhere. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger
  },
}
