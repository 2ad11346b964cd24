/**
 * What the client commands print and how they exit. Tables go through cli-table3; `--json` prints
 * one JSON document (offsets as numbers when exact, else strings). Exit codes let a
 * script branch without reading messages:
 *
 *   0 done · 1 failed (Kafka refused, or an unexpected error) · 2 bad usage or options ·
 *   3 no such topic or group · 4 cannot reach or authenticate to the brokers ·
 *   5 refused by the group's state (it has members)
 */
import Table from 'cli-table3'
import { BatonError, ConfigError, KafkaError, KafkaErrorCode, MetadataError, NetworkError, SaslError } from '../client/index.js'

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, NOT_FOUND: 3, UNREACHABLE: 4, REFUSED: 5 } as const
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** An error a command raises on purpose, with its exit code and a message saying what to do. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message)
  }
}

export const EXIT_CODES_HELP = `
Exit codes: 0 done, 1 failed, 2 bad usage, 3 no such topic or group,
            4 cannot reach or authenticate to the brokers, 5 refused by the group's state`

/** JSON with bigints written as numbers when they are exact, as strings otherwise. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString()) : v))
}

export function printJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`)
}

export function table(head: string[], rows: Array<Array<string | number | bigint | null | undefined>>): string {
  const t = new Table({
    head,
    style: { head: [], border: [], compact: true },
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
  })
  for (const row of rows) t.push(row.map((c) => (c === null || c === undefined ? '-' : String(c))))
  return t
    .toString()
    .split('\n')
    .map((line) => line.replace(/^ /, '').trimEnd())
    .join('\n')
}

/** Maps an error to its exit code and a message that says what to do. */
export function explain(error: unknown): { exitCode: ExitCode; message: string; code?: string } {
  if (error instanceof CliError) return { exitCode: error.exitCode, message: error.message }
  if (error instanceof ConfigError) return { exitCode: EXIT.USAGE, message: error.message, code: error.code }
  if (error instanceof SaslError) return { exitCode: EXIT.UNREACHABLE, message: `${error.message}; check --sasl-mechanism, --sasl-username and the password`, code: error.code }
  if (error instanceof NetworkError) return { exitCode: EXIT.UNREACHABLE, message: error.message, code: error.code }
  if (error instanceof MetadataError) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : ''
    return { exitCode: EXIT.UNREACHABLE, message: `${error.message}${cause}; pass --brokers host:port (and --tls/--sasl-* if the brokers are secured)`, code: error.code }
  }
  if (error instanceof KafkaError) {
    const notFound = error.errorCode === KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION || error.errorCode === KafkaErrorCode.GROUP_ID_NOT_FOUND
    const refused = error.errorCode === KafkaErrorCode.NON_EMPTY_GROUP || error.errorCode === KafkaErrorCode.UNKNOWN_MEMBER_ID
    return { exitCode: notFound ? EXIT.NOT_FOUND : refused ? EXIT.REFUSED : EXIT.FAILED, message: error.message, code: error.code }
  }
  // baton's own errors say what happened and what to do; anything else is a bug worth its stack.
  if (error instanceof BatonError) return { exitCode: EXIT.FAILED, message: error.message, code: error.code }
  return { exitCode: EXIT.FAILED, message: error instanceof Error ? (error.stack ?? error.message) : String(error) }
}

/** Runs a command's work, printing its error (as JSON with --json) and setting the exit code. */
export async function runCommand(json: boolean | undefined, name: string, work: () => Promise<void>): Promise<void> {
  try {
    await work()
  } catch (error) {
    const { exitCode, message, code } = explain(error)
    if (json === true) process.stderr.write(`${toJson({ error: { command: name, exitCode, code: code ?? null, message } })}\n`)
    else process.stderr.write(`baton ${name}: ${message}\n`)
    process.exitCode = exitCode
  }
}

/** Commander's handler for bad usage: exit 2 (its own default is 1, which scripts read as "failed"). */
export function usageExit(error: { exitCode: number }): never {
  process.exit(error.exitCode === 0 ? 0 : EXIT.USAGE)
}
