/**
 * A manual clock for the membership tests: time moves only when a test advances it. One clock
 * drives both the members' timers and the embedded broker's group coordinator (`Scheduler`), so
 * heartbeats, session timeouts and rebalance timeouts on both sides happen on one timeline.
 */
import type { Scheduler, Timer } from '../../../src/broker/groups/scheduler.js'
import type { Timers } from '../../../src/client/membership/transport.js'

interface Pending {
  at: number
  seq: number
  callback: () => void
}

/** Lets every queued promise continuation run (a macrotask turn), without waiting on time. */
export async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

export class FakeTimers implements Timers, Scheduler {
  /**
   * @param lateMs how late every timer fires, as a busy event loop makes real timers fire late.
   * @param start the clock's first reading.
   */
  constructor(
    private readonly lateMs = 0,
    start = 0,
  ) {
    this.time = start
  }

  private time: number
  private seq = 0
  private readonly pending = new Map<number, Pending>()

  now(): number {
    return this.time
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this.seq
    this.pending.set(id, { at: this.time + Math.max(0, ms) + this.lateMs, seq: id, callback })
    return id
  }

  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.pending.delete(handle)
  }

  schedule(delayMs: number, task: () => void): Timer {
    const handle = this.setTimeout(task, delayMs)
    return { cancel: () => this.clearTimeout(handle) }
  }

  /** Moves time forward, firing due timers in order and letting their promise chains settle. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms
    await settle()
    for (;;) {
      const next = [...this.pending.values()].filter((p) => p.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0]
      if (next === undefined) break
      this.pending.delete(next.seq)
      this.time = next.at
      next.callback()
      await settle()
    }
    this.time = end
    await settle()
  }

  /** Advances in steps so periodic timers (heartbeats) fire at each step. */
  async advanceBy(step: number, times: number): Promise<void> {
    for (let i = 0; i < times; i++) await this.advance(step)
  }
}
