/**
 * How the member's loop waits: for a condition raised from elsewhere (a heartbeat answer, a
 * rebalance request, close), or for a backoff delay that such an event cuts short.
 */
import type { Timers } from './transport.js'

export class Waker {
  private waiter: (() => void) | undefined

  constructor(private readonly timers: Timers) {}

  /** Wakes whatever the loop waits on, so it re-checks its conditions. */
  wake(): void {
    this.waiter?.()
  }

  /** Resolves once `ready()` holds; it is checked now and after every wake(). */
  until(ready: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (!ready()) return
        this.waiter = undefined
        resolve()
      }
      this.waiter = check
      check()
    })
  }

  /** Resolves after `ms`, or at the next wake(). */
  delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.timers.setTimeout(() => {
        this.waiter = undefined
        resolve()
      }, ms)
      this.waiter = () => {
        this.timers.clearTimeout(handle)
        this.waiter = undefined
        resolve()
      }
    })
  }
}
