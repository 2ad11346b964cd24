/**
 * Test doubles for what the library logs and where it connects: a logger that keeps every line
 * (the library's one `Logger` interface, so it fits the client, the broker and the framework), and
 * a loopback port nothing listens on, for "no broker answers" paths.
 */
import { createServer } from 'node:net'
import type { Logger } from '../../src/net/logger.js'

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  readonly fields: Record<string, unknown>
  /** '' when the call carried no message. */
  readonly message: string
}

/** A logger that appends every line to `lines`, then calls `onLine` (to wake a test waiting on them). */
export function recordingLogger(lines: LogLine[], onLine: () => void = () => undefined): Logger {
  const at =
    (level: LogLine['level']) =>
    (fields: object, message = ''): void => {
      lines.push({ level, fields: fields as Record<string, unknown>, message })
      onLine()
    }
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger }
  return logger
}

/** A loopback port nothing listens on (taken from the OS, then freed). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}
