/**
 * The heartbeat, on its own timer. It never waits for user code: hooks and record handlers may run
 * for as long as the rebalance timeout allows, and the coordinator must still hear from the member
 * in the meantime or it evicts the member after the session timeout.
 *
 * The session is the coordinator's to expire. The member presumes it lost only when no heartbeat has
 * succeeded for a whole session timeout, counted from when the last successful heartbeat was sent
 * (the coordinator got it no earlier, so its own deadline is never before the member's). Giving up
 * earlier turns a late timer tick or a short coordinator outage (a broker restart) into a false loss
 * and a needless rebalance: with the interval at a third of the session, the ratio Kafka advises,
 * an earlier rule of "give up one interval early, with one more of slack" fired on every tick that
 * came a millisecond late. Closing the window in which two members process one partition does not
 * need the margin: the coordinator evicts no earlier than this deadline, and its next owner is only
 * told after a rebalance that follows the eviction.
 *
 * A generation's first deadline counts from when the member sent the SyncGroup that brought its
 * assignment: the coordinator restarts the session when it handles that request (or the leader's,
 * if later), never before it was sent, whereas its answer can arrive any time after. Counting from
 * the answer let a member that died right after a slow answer keep its partitions past the
 * coordinator's deadline, while another member was handed them. The deadline counts from no
 * earlier than half a session before the answer, though: a SyncGroup held longer than a session (a
 * leader slow to assign, which heartbeats meanwhile) would otherwise expire the member the moment
 * its assignment arrives, whereas the coordinator restarted the session when the leader's
 * assignment came, just before it answered. So the member gives up before the coordinator could
 * hand its partitions on whenever the answer took less than half a session to arrive, and keeps at
 * least half a session for its first heartbeat after a long wait. Should the answer have taken
 * longer than an interval, that heartbeat goes out at once, so that a long wait for the leader's
 * assignment does not eat into the session unnoticed.
 *
 * The deadline runs on a timer of its own, not only on the beat's: a heartbeat that gets no answer
 * holds the next beat back until the request times out (30 s by default), which can be longer than
 * the session, and a check that waited for it would let the coordinator evict the member while it
 * still processes its partitions. The timer fires at the deadline whatever the request in flight is
 * doing; an answer that comes back after that is ignored.
 */
import { Heartbeat } from '../../protocol/generated/index.js'
import { groupErrorAction, type GroupErrorAction } from './error-actions.js'
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
  /** The local session-expiry timer, re-armed from every heartbeat that succeeds. */
  private expiry: unknown
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

  /** @param since when the coordinator last heard from the member, at the earliest (the SyncGroup's sending). */
  start(since: number): void {
    if (this.running) return
    this.running = true
    this.epoch++
    const now = this.ctx.timers.now()
    this.lastSuccess = Math.max(Math.min(since, now), now - this.ctx.sessionTimeoutMs / 2)
    this.armExpiry()
    if (now - this.lastSuccess > this.ctx.intervalMs) this.handle = this.ctx.timers.setTimeout(() => void this.beat(), 0)
    else this.schedule()
  }

  stop(): void {
    this.running = false
    this.ctx.timers.clearTimeout(this.handle)
    this.handle = undefined
    this.ctx.timers.clearTimeout(this.expiry)
    this.expiry = undefined
  }

  /** A whole session timeout after the last heartbeat that succeeded was sent. */
  private armExpiry(): void {
    this.ctx.timers.clearTimeout(this.expiry)
    const epoch = this.epoch
    const at = this.lastSuccess + this.ctx.sessionTimeoutMs
    this.expiry = this.ctx.timers.setTimeout(() => this.expire(epoch), Math.max(0, at - this.ctx.timers.now()))
  }

  private expire(epoch: number): void {
    if (!this.running || epoch !== this.epoch) return
    this.stop()
    this.ctx.outcome('session-expired', 0)
  }

  private schedule(): void {
    this.handle = this.ctx.timers.setTimeout(() => void this.beat(), this.ctx.intervalMs)
  }

  private async beat(): Promise<void> {
    if (!this.running) return
    const now = this.ctx.timers.now()
    if (now >= this.lastSuccess + this.ctx.sessionTimeoutMs) {
      this.expire(this.epoch)
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
    // Stopped meanwhile, by the expiry timer among others: a late answer must not bring the member back.
    if (!this.running || epoch !== this.epoch) return
    const current = this.ctx.identity()
    // An answer to an older generation says nothing about the current one.
    if (current.generationId !== sentAs.generationId || current.memberId !== sentAs.memberId) {
      this.schedule()
      return
    }
    const action = groupErrorAction(errorCode)
    if ((action === 'none' || action === 'rejoin') && sentAt > this.lastSuccess) {
      this.lastSuccess = sentAt
      this.armExpiry()
    }
    if (action !== 'none') this.ctx.outcome(action, errorCode)
    if (this.running) this.schedule()
  }
}
