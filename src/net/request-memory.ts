/**
 * The broker-wide budget for request bytes being received (Kafka's queued.max.request.bytes).
 *
 * As in Kafka's memory pool, a connection reserves a request's whole declared size when it reads
 * the size prefix, and only then reads the body; the bytes go back once the request has been
 * handled (or the connection closed). A connection whose reservation does not fit stops reading
 * (its bytes wait in the kernel and, past that, in the client) until enough is given back. So the
 * memory held in requests never exceeds the cap, whatever size clients announce, and a connection
 * that got its reservation can always finish its request: honest clients cannot deadlock each
 * other. A request larger than the whole cap goes through alone, once nothing else is reserved.
 *
 * A client that reserves and then stalls holds its bytes until the connection is closed, which
 * the idle timeout (connections.max.idle.ms) does for connections that finish no request.
 */

export class RequestMemoryPool {
  private used = 0
  private readonly waiters = new Set<() => void>()

  /** `capBytes` 0 or less means no cap (Kafka's -1). */
  constructor(readonly capBytes: number) {}

  get reservedBytes(): number {
    return this.used
  }

  /** Connections stopped until bytes come back. */
  get waitingConnections(): number {
    return this.waiters.size
  }

  /** Reserves `bytes` if they fit; false means wait (`whenReleased`) and try again. */
  tryReserve(bytes: number): boolean {
    if (this.capBytes > 0 && this.used > 0 && this.used + bytes > this.capBytes) return false
    this.used += bytes
    return true
  }

  release(bytes: number): void {
    if (bytes <= 0) return
    this.used = Math.max(0, this.used - bytes)
    if (this.waiters.size === 0) return
    // Each waiter tries again; those that still do not fit register anew.
    const waiting = [...this.waiters]
    this.waiters.clear()
    for (const wake of waiting) wake()
  }

  /** Calls `wake` once after the next release; returns a function that cancels the wait. */
  whenReleased(wake: () => void): () => void {
    this.waiters.add(wake)
    return () => this.waiters.delete(wake)
  }
}
