/**
 * The KIP-848 heartbeat: the one request that joins, carries the member's owned partitions (its
 * acknowledgement of revocations), brings assignments and leaves. It runs on its own timer at the
 * interval the coordinator gives, never waiting for user code, and at once when the member asks
 * (joining, a reconciliation done): one request in flight at a time, a second ask coalesced into
 * the send after it.
 *
 * As with the classic heartbeat, the session is the coordinator's to expire, and the member
 * presumes it lost only after a whole session timeout without a successful heartbeat, on a timer
 * of its own so that an unanswered request cannot hold that back.
 */
import { BatonError } from '../../../protocol/errors/base.js'
import { ConsumerGroupHeartbeat, type ConsumerGroupHeartbeatRequestInit, type ConsumerGroupHeartbeatResponse } from '../../../protocol/generated/index.js'
import type { GroupTransport, Timers } from '../transport.js'

export interface ConsumerHeartbeatContext {
  transport: GroupTransport
  timers: Timers
  sessionTimeoutMs: number
  /** Interval until the coordinator gives one. */
  initialIntervalMs: number
  /** The request to send, built when it goes out. */
  request(version: number): ConsumerGroupHeartbeatRequestInit
  /** Every answer, errors included, to a request sent in the current run. */
  answered(response: ConsumerGroupHeartbeatResponse, sent: ConsumerGroupHeartbeatRequestInit): void
  /** No successful heartbeat for a whole session timeout. */
  expired(): void
  /** A request that could not be sent and will not go through by retrying (no common version, closed client). */
  unsendable(error: BatonError): void
}

export class ConsumerHeartbeater {
  private running = false
  private run = 0
  private inFlight = false
  private again = false
  private timer: unknown
  private expiry: unknown
  private lastSuccess = 0
  private intervalMs: number
  sent = 0

  constructor(private readonly ctx: ConsumerHeartbeatContext) {
    this.intervalMs = ctx.initialIntervalMs
  }

  get active(): boolean {
    return this.running
  }

  /** Starts heartbeating with a request now. */
  start(): void {
    if (this.running) return
    this.running = true
    this.run++
    this.lastSuccess = this.ctx.timers.now()
    this.armExpiry()
    this.now()
  }

  stop(): void {
    this.running = false
    this.again = false
    this.ctx.timers.clearTimeout(this.timer)
    this.ctx.timers.clearTimeout(this.expiry)
    this.timer = undefined
    this.expiry = undefined
  }

  /** Sends a heartbeat as soon as the one in flight (if any) is answered. */
  now(): void {
    if (!this.running) return
    if (this.inFlight) {
      this.again = true
      return
    }
    this.ctx.timers.clearTimeout(this.timer)
    void this.beat()
  }

  /** Sends one request outside the running schedule (the leaving heartbeat), waiting for its answer. */
  once(): Promise<ConsumerGroupHeartbeatResponse> {
    return this.ctx.transport.send(ConsumerGroupHeartbeat, (version) => this.ctx.request(version))
  }

  private schedule(): void {
    this.ctx.timers.clearTimeout(this.timer)
    this.timer = this.ctx.timers.setTimeout(() => this.now(), this.intervalMs)
  }

  private armExpiry(): void {
    this.ctx.timers.clearTimeout(this.expiry)
    const run = this.run
    const at = this.lastSuccess + this.ctx.sessionTimeoutMs
    this.expiry = this.ctx.timers.setTimeout(() => {
      if (!this.running || run !== this.run) return
      this.stop()
      this.ctx.expired()
    }, Math.max(0, at - this.ctx.timers.now()))
  }

  private async beat(): Promise<void> {
    const run = this.run
    const sentAt = this.ctx.timers.now()
    this.inFlight = true
    this.sent++
    let sent: ConsumerGroupHeartbeatRequestInit | undefined
    let response: ConsumerGroupHeartbeatResponse | undefined
    try {
      response = await this.ctx.transport.send(ConsumerGroupHeartbeat, (version) => (sent = this.ctx.request(version)))
    } catch (err) {
      this.inFlight = false
      if (!this.running || run !== this.run) return
      const retriable = err instanceof BatonError && 'retriable' in err && err.retriable === true
      if (!retriable) {
        this.stop()
        this.ctx.unsendable(err instanceof BatonError ? err : new BatonError('GROUP_FATAL', 'the heartbeat could not be sent', { cause: err }))
        return
      }
      // Not delivered: try again next interval; the session timeout bounds how long.
      this.schedule()
      return
    }
    this.inFlight = false
    // Stopped meanwhile (left, lost, expired): a late answer must not bring the member back.
    if (!this.running || run !== this.run || sent === undefined) return
    if (response.errorCode === 0) {
      if (response.heartbeatIntervalMs > 0) this.intervalMs = response.heartbeatIntervalMs
      if (sentAt > this.lastSuccess) {
        this.lastSuccess = sentAt
        this.armExpiry()
      }
    }
    this.ctx.answered(response, sent)
    if (!this.running || run !== this.run) return
    if (this.again) {
      this.again = false
      void this.beat()
    } else {
      this.schedule()
    }
  }
}
