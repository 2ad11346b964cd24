/**
 * The heartbeat, on its own timer. It never waits for user code: hooks and record handlers may run
 * for as long as the rebalance timeout allows, and the coordinator must still hear from the member
 * in the meantime or it evicts the member after the session timeout.
 *
 * If no heartbeat succeeds within the session timeout the coordinator has evicted this member (or
 * will), so its partitions are treated as lost rather than processed on. The deadline counts from
 * when the last successful heartbeat was sent (the coordinator got it no earlier), and the member
 * gives up a tick early, with one more tick of slack for a late timer, so that it stops before the
 * coordinator can hand its partitions to someone else: the window in which two members process one
 * partition stays closed. The cost: with an interval of a third of the session timeout (the most
 * Kafka advises), a single failed heartbeat already counts as lost.
 */
import { Heartbeat } from '../../protocol/generated/index.js'
import { groupErrorAction, type GroupErrorAction } from './group-errors.js'
import type { GroupTransport, Timers } from './transport.js'

export interface HeartbeatIdentity {
  memberId: string
  generationId: number
  groupInstanceId: string | null
}

export interface HeartbeatContext {
  transport: GroupTransport
  timers: Timers
  groupId: string
  intervalMs: number
  sessionTimeoutMs: number
  identity(): HeartbeatIdentity
  /** Called with every non-success outcome the member must act on. */
  outcome(action: Exclude<GroupErrorAction, 'none'> | 'session-expired', errorCode: number): void
}

export class Heartbeater {
  private handle: unknown
  private running = false
  /** When the last heartbeat that succeeded was sent (or the member joined). */
  private lastSuccess = 0
  /** Bumped by every start(), so a beat still in flight from an earlier run does not reschedule. */
  private epoch = 0
  /** Heartbeats sent, for tests and diagnostics. */
  sent = 0

  constructor(private readonly ctx: HeartbeatContext) {}

  get active(): boolean {
    return this.running
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.epoch++
    this.lastSuccess = this.ctx.timers.now()
    this.schedule()
  }

  stop(): void {
    this.running = false
    this.ctx.timers.clearTimeout(this.handle)
    this.handle = undefined
  }

  private schedule(): void {
    this.handle = this.ctx.timers.setTimeout(() => void this.beat(), this.ctx.intervalMs)
  }

  private async beat(): Promise<void> {
    if (!this.running) return
    const now = this.ctx.timers.now()
    if (now + 2 * this.ctx.intervalMs > this.lastSuccess + this.ctx.sessionTimeoutMs) {
      this.stop()
      this.ctx.outcome('session-expired', 0)
      return
    }
    const epoch = this.epoch
    const sentAs = this.ctx.identity()
    const sentAt = now
    this.sent++
    let errorCode: number
    try {
      const res = await this.ctx.transport.send(Heartbeat, (version) => ({
        groupId: this.ctx.groupId,
        generationId: sentAs.generationId,
        memberId: sentAs.memberId,
        groupInstanceId: version >= 3 ? sentAs.groupInstanceId : null,
      }))
      errorCode = res.errorCode
    } catch {
      // Not delivered (connection lost, timeout): try again next interval; the session timeout bounds how long.
      if (this.running && epoch === this.epoch) this.schedule()
      return
    }
    if (!this.running || epoch !== this.epoch) return
    const current = this.ctx.identity()
    // An answer to an older generation says nothing about the current one.
    if (current.generationId !== sentAs.generationId || current.memberId !== sentAs.memberId) {
      this.schedule()
      return
    }
    const action = groupErrorAction(errorCode)
    if (action === 'none' || action === 'rejoin') this.lastSuccess = Math.max(this.lastSuccess, sentAt)
    if (action !== 'none') this.ctx.outcome(action, errorCode)
    if (this.running) this.schedule()
  }
}
