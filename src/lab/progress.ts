/**
 * What the lab prints while it runs. On a terminal: a status line per running strategy, redrawn
 * in place, with events printed above them. Elsewhere (CI logs, pipes): plain lines only, the
 * status lines every few seconds, so logs stay readable.
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
  /** The strategies running now, in table order: one status line each. */
  private readonly running = new Map<string, { readonly index: number; readonly status: () => RunStatus }>()
  /** Status lines on screen below the last plain line (terminal only). */
  private drawn = 0
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
    if (this.running.size === 0) this.lastPlainAt = 0
    this.running.set(name, { index, status })
    this.timer ??= setInterval(() => this.tick(), this.interactive ? 200 : 1000)
    this.timer.unref()
    // In a log, the first interval prints every strategy started by then, rather than one block per start.
    if (this.interactive) this.tick()
  }

  event(strategy: string, atMs: number, message: string): void {
    this.line(`  ${(atMs / 1000).toFixed(1).padStart(5)} s  ${strategy}: ${message}`)
  }

  strategyFinished(outcome: Outcome): void {
    const entry = this.running.get(outcome.strategy)
    this.running.delete(outcome.strategy)
    if (this.running.size === 0) {
      clearInterval(this.timer)
      this.timer = undefined
    }
    const dup = outcome.duplicated === 0 ? 'no duplicates' : `${outcome.duplicated} record${outcome.duplicated === 1 ? '' : 's'} duplicated`
    const last = entry === undefined ? [] : [renderStatus(entry.status())]
    this.line(...last, `  done: ${outcome.strategy}: ${outcome.processed}/${outcome.produced} processed, ${outcome.lost} lost, ${dup}`)
  }

  private statuses(): string[] {
    return [...this.running.values()].sort((a, b) => a.index - b.index).map((r) => renderStatus(r.status()))
  }

  private tick(): void {
    if (this.running.size === 0) return
    if (this.interactive) {
      this.clear()
      this.draw()
      return
    }
    const elapsed = Math.max(...[...this.running.values()].map((r) => r.status().elapsedMs))
    if (elapsed - this.lastPlainAt >= this.plainEveryMs || this.lastPlainAt === 0) {
      this.lastPlainAt = Math.max(1, elapsed)
      for (const status of this.statuses()) this.out.write(`${status}\n`)
    }
  }

  /** Removes the status lines from the screen (terminal only). */
  private clear(): void {
    if (this.drawn === 0) return
    this.out.write(`\r\x1b[2K${'\x1b[1A\x1b[2K'.repeat(this.drawn - 1)}`)
    this.drawn = 0
  }

  private draw(): void {
    const lines = this.statuses()
    if (lines.length === 0) return
    this.out.write(lines.join('\n'))
    this.drawn = lines.length
  }

  /** Lines of their own; on a terminal the status lines are cleared first and drawn again below them. */
  private line(...texts: string[]): void {
    if (this.interactive) this.clear()
    for (const text of texts) this.out.write(`${text}\n`)
    if (this.interactive) this.draw()
  }
}

/** Says nothing: for tests and for callers that only want the results. */
export const silentProgress: ProgressReporter = {
  info: () => undefined,
  strategyStarted: () => undefined,
  event: () => undefined,
  strategyFinished: () => undefined,
}
