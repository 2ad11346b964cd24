/**
 * The one logger interface of every layer: the subset of pino's API baton calls, so a pino logger
 * fits as it is and any other logger through a small adapter. The library is silent unless given
 * one; only the application entry points (`baton()`, the CLI) choose pino by default.
 */
import type { BatonError } from '../protocol/errors/base.js'

export interface Logger {
  debug(fields: object, message?: string): void
  info(fields: object, message?: string): void
  warn(fields: object, message?: string): void
  error(fields: object, message?: string): void
  child(bindings: Record<string, unknown>): Logger
}

const noop = (): void => undefined

/** Drops everything: the library's default, and a choice for tests. */
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
}

/**
 * How a layer reports an error it recovered from (or cannot surface anywhere else): one warning
 * line whose `err` is the typed error, so a reader can branch on `err.code`.
 */
export function warnOf(logger: Logger): (error: BatonError) => void {
  return (error) => logger.warn({ err: error, code: error.code }, error.message)
}

/**
 * A logger that hands every typed error logged at warn or error level (`fields.err`) to a callback
 * and drops the rest: for code that wants to act on what the client recovered from rather than read it.
 */
export function errorLogger(onError: (error: BatonError) => void): Logger {
  const take = (fields: object): void => {
    const err = (fields as { err?: unknown }).err
    if (err instanceof Error && 'code' in err) onError(err as BatonError)
  }
  const logger: Logger = { debug: noop, info: noop, warn: take, error: take, child: () => logger }
  return logger
}
