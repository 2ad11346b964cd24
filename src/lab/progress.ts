/**
 * What the lab prints while it runs. On a terminal: one status line per strategy, redrawn in
 * place, with events printed above it. Elsewhere (CI logs, pipes): plain lines only, a status line
 * every few seconds, so logs stay readable.
 */
import type { RunStatus } from './run-strategy.js'
import type { Outcome } from './verify.js'

export interface ProgressReporter {
  info(message: string): void
  strategyStarted(name: string, index: number, total: number, status: () => RunStatus): void
  event(strategy: string, atMs: number, message: string): void
  strategyFinished(outcome: Outcome): void
}

export interface Output {
  write(text: string): void
  readonly isTTY?: boolean
}

const BAR = 24

export function renderStatus(s: RunStatus): string {
  const filled = s.total === 0 ? BAR : Math.min(BAR, Math.floor((s.processed / s.total) * BAR))
  const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}`
  const dup = s.extraEffects === 0 ? 'no duplicates' : `${s.extraEffects} duplicate effect${s.extraEffects === 1 ? '' : 's'}`
  return `${s.strategy.padEnd(16)} [${bar}] ${String(s.processed).padStart(String(s.total).length)}/${s.total}  ${dup}, ${s.members} member${s.members === 1 ? '' : 's'}${s.rebalancing ? ', rebalancing' : ''}, ${(s.elapsedMs / 1000).toFixed(1)} s`
}

export class TerminalProgress implements ProgressReporter {
  private timer: NodeJS.Timeout | undefined
  private status: (() => RunStatus) | undefined
  private lastPlainAt = 0

  constructor(
    private readonly out: Output,
    private readonly interactive = out.isTTY === true,
    private readonly plainEveryMs = 5000,
  ) {}

  info(message: string): void {
    this.line(message)
  }

  strategyStarted(name: string, index: number, total: number, status: () => RunStatus): void {
    this.line(`[${index + 1}/${total}] ${name}`)
    this.status = status
    this.lastPlainAt = 0
    this.timer = setInterval(() => this.tick(), this.interactive ? 200 : 1000)
    this.timer.unref()
    this.tick()
  }

  event(strategy: string, atMs: number, message: string): void {
    this.line(`  ${(atMs / 1000).toFixed(1).padStart(5)} s  ${strategy}: ${message}`)
  }

  strategyFinished(outcome: Outcome): void {
    clearInterval(this.timer)
    const status = this.status?.()
    this.status = undefined
    if (this.interactive) this.out.write('\r\x1b[2K')
    if (status !== undefined) this.out.write(`${renderStatus(status)}\n`)
    const dup = outcome.duplicated === 0 ? 'no duplicates' : `${outcome.duplicated} records duplicated`
    this.line(`  done: ${outcome.processed}/${outcome.produced} processed, ${outcome.lost} lost, ${dup}`)
  }

  private tick(): void {
    const status = this.status?.()
    if (status === undefined) return
    if (this.interactive) {
      this.out.write(`\r\x1b[2K${renderStatus(status)}`)
      return
    }
    if (status.elapsedMs - this.lastPlainAt >= this.plainEveryMs || this.lastPlainAt === 0) {
      this.lastPlainAt = Math.max(1, status.elapsedMs)
      this.out.write(`${renderStatus(status)}\n`)
    }
  }

  /** A line of its own; on a terminal the status line is cleared first and redrawn on the next tick. */
  private line(text: string): void {
    if (this.interactive && this.status !== undefined) this.out.write('\r\x1b[2K')
    this.out.write(`${text}\n`)
    if (this.interactive && this.status !== undefined) this.tick()
  }
}

/** Says nothing: for tests and for callers that only want the results. */
export const silentProgress: ProgressReporter = {
  info: () => undefined,
  strategyStarted: () => undefined,
  event: () => undefined,
  strategyFinished: () => undefined,
}
