/**
 * Time as the group coordinator sees it: a clock and one-shot timers, injected so that session and
 * rebalance timeouts can be driven by a test without waiting for them.
 */

export interface Timer {
  /** Stops the timer; a no-op once it has fired or was cancelled. */
  cancel(): void
}

export interface Scheduler {
  now(): number
  /** Runs `task` once, `delayMs` from now. */
  schedule(delayMs: number, task: () => void): Timer
}

/**
 * Wall-clock time with Node's timers. Timers are unref'd: a coordinator with members that never
 * come back must not keep a process alive on its own (the broker's sockets already do).
 */
export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  schedule(delayMs, task) {
    const handle = setTimeout(task, Math.max(0, delayMs))
    handle.unref()
    return { cancel: () => clearTimeout(handle) }
  },
}

interface ManualTask {
  readonly at: number
  readonly seq: number
  readonly task: () => void
  cancelled: boolean
}

/**
 * A clock that moves only when told to. `advance(ms)` runs every timer that falls due, in due
 * order (ties in scheduling order), each seeing `now()` at its own due time.
 */
export class ManualScheduler implements Scheduler {
  private time: number
  private seq = 0
  private tasks: ManualTask[] = []

  constructor(start = 1_700_000_000_000) {
    this.time = start
  }

  now(): number {
    return this.time
  }

  schedule(delayMs: number, task: () => void): Timer {
    const entry: ManualTask = { at: this.time + Math.max(0, delayMs), seq: this.seq++, task, cancelled: false }
    this.tasks.push(entry)
    return { cancel: () => void (entry.cancelled = true) }
  }

  /** Timers scheduled and neither fired nor cancelled. */
  get pending(): number {
    return this.tasks.filter((t) => !t.cancelled).length
  }

  advance(ms: number): void {
    const target = this.time + ms
    for (;;) {
      this.tasks = this.tasks.filter((t) => !t.cancelled)
      let next: ManualTask | undefined
      for (const t of this.tasks) {
        if (t.at > target) continue
        if (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq)) next = t
      }
      if (next === undefined) break
      next.cancelled = true
      this.time = Math.max(this.time, next.at)
      next.task()
    }
    this.time = target
  }
}
