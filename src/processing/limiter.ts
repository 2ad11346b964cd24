/**
 * The global concurrency cap: how many handler invocations may run at once across all partitions.
 * Lanes that find it full register with `whenAvailable`, and are woken first come first served as slots
 * free up, so no partition starves another.
 */
export class ConcurrencyLimiter {
  private running = 0
  private readonly waiters: (() => void)[] = []

  constructor(readonly capacity: number) {}

  tryAcquire(): boolean {
    if (this.running >= this.capacity) return false
    this.running++
    return true
  }

  release(): void {
    this.running--
    if (this.waiters.length === 0) return
    // Wake every waiter, oldest first: one may find nothing left to run (its partition was revoked)
    // and would otherwise swallow the wake-up another needed. Those that miss out register again.
    for (const wake of this.waiters.splice(0)) wake()
  }

  /**
   * Calls `wake` once, the next time a slot is released (without taking it: call `tryAcquire`
   * again). A callback rather than a promise: in key mode a full limiter is waited on once per
   * record, and a promise there costs an allocation and a microtask each time.
   */
  whenAvailable(wake: () => void): void {
    this.waiters.push(wake)
  }

  get inUse(): number {
    return this.running
  }
}

/**
 * Handlers that settle without waiting on I/O (a cache hit, CPU work, a no-op) chain record after
 * record in microtasks, and Node runs no timer or socket callback until the microtask queue is
 * empty: heartbeats, fetch responses and commits would wait for every queued record, and a long
 * enough queue would get the member evicted. Workers ask `due()` before each dispatch; after
 * `sliceMs` of dispatching without a turn of the event loop it says to take one (`turn()`) first.
 */
export class EventLoopTurns {
  private calls = 0
  private lastTurnAt = performance.now()

  constructor(private readonly sliceMs = 10) {}

  /** Reads the clock only every 64th call: this runs once per record. */
  due(): boolean {
    if ((++this.calls & 63) !== 0) return false
    return performance.now() - this.lastTurnAt >= this.sliceMs
  }

  /** Resolves once the event loop has run its timers and I/O callbacks. */
  turn(): Promise<void> {
    return new Promise((resolve) =>
      setImmediate(() => {
        this.lastTurnAt = performance.now()
        resolve()
      }),
    )
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error)
      return
    }
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal.reason as Error)
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
