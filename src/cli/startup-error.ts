/**
 * What a command prints when it cannot start: one line on stderr naming the problem and what to do,
 * then exit code 1. A stack trace with a source excerpt helps no one who mistyped a port or a path;
 * errors baton raises already say what to do, and the system error underneath (EADDRINUSE, EACCES)
 * is appended so the cause is not lost.
 */
import { BatonError } from '../protocol/index.js'

/** The one line for `error`, without the command's name. */
export function startupErrorLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = error.cause instanceof Error ? systemCode(error.cause) : undefined
  const message = error instanceof BatonError ? error.message : `unexpected error: ${error.message}`
  return cause === undefined ? message : `${message} (${cause})`
}

/** Prints the line and ends the process with exit code 1. */
export function exitWithStartupError(command: string, error: unknown): never {
  process.stderr.write(`${command}: ${startupErrorLine(error)}\n`)
  process.exit(1)
}

function systemCode(error: Error): string | undefined {
  const code = (error as NodeJS.ErrnoException).code
  return typeof code === 'string' ? code : undefined
}
