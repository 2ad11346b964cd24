/** Set-up shared by the membership flow tests: a fake coordinator, a manual clock, recorded hooks. */
import { errorLogger } from '../../../src/net/logger.js'
import { GroupMember, type GroupMemberOptions } from '../../../src/client/membership/member.js'
import type { MemberState } from '../../../src/client/membership/state.js'
import { flatten } from '../../../src/client/membership/topic-partitions.js'
import type { TopicPartitions } from '../../../src/client/membership/topic-partitions.js'
import type { BatonError } from '../../../src/protocol/errors/base.js'
import { FakeCoordinator, FakeMetadata } from './fake-coordinator.js'
import { FakeTimers } from './fake-timers.js'

export const HEARTBEAT_MS = 100
export const SESSION_MS = 1_000
export const REBALANCE_MS = 5_000

export interface HookCall {
  hook: 'onRevoke' | 'onAssign' | 'onLost'
  partitions: string[]
  generationId: number
}

export function labels(groups: readonly TopicPartitions[]): string[] {
  return flatten(groups).map((tp) => `${tp.topic}-${tp.partition}`)
}

export class Harness {
  readonly coordinator = new FakeCoordinator()
  readonly timers: FakeTimers

  /** @param lateMs how late each timer fires (see FakeTimers). */
  constructor(lateMs = 0) {
    this.timers = new FakeTimers(lateMs)
  }

  readonly metadata = new FakeMetadata(new Map([['orders', 4]]))
  readonly errors: BatonError[] = []
  readonly members: GroupMember[] = []

  member(options: Partial<GroupMemberOptions> = {}): { member: GroupMember; calls: HookCall[] } {
    const calls: HookCall[] = []
    // Filled in below; hooks record the generation they ran under.
    const self: { member?: GroupMember } = {}
    const record = (hook: HookCall['hook']) => (partitions: TopicPartitions[]) => {
      calls.push({ hook, partitions: labels(partitions), generationId: self.member?.generationId ?? -1 })
    }
    const member = new GroupMember({
      groupId: 'group',
      transport: this.coordinator.transport(),
      metadata: this.metadata,
      timers: this.timers,
      heartbeatIntervalMs: HEARTBEAT_MS,
      sessionTimeoutMs: SESSION_MS,
      rebalanceTimeoutMs: REBALANCE_MS,
      logger: errorLogger((e) => this.errors.push(e)),
      hooks: { onRevoke: record('onRevoke'), onAssign: record('onAssign'), onLost: record('onLost') },
      ...options,
    })
    self.member = member
    this.members.push(member)
    return { member, calls }
  }

  /** Closes every member; members stuck in a join barrier are released by expiring the others first. */
  async close(): Promise<void> {
    this.coordinator.expire()
    let open = true
    const closed = Promise.all(this.members.map((m) => m.close())).finally(() => (open = false))
    // Hooks that never settle are bounded by the rebalance timeout, which only passes on the fake clock.
    for (let i = 0; i < 20 && open; i++) {
      this.coordinator.expire()
      await this.timers.advance(REBALANCE_MS)
    }
    if (open) throw new Error('members did not close')
    await closed
  }
}

/** Resolves when the member reaches `state` (or is in it); rejects after `timeoutMs` of real time. */
export function waitForState(member: GroupMember, state: MemberState, timeoutMs = 2_000): Promise<void> {
  if (member.state === state) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      off()
      reject(new Error(`member did not reach ${state} within ${timeoutMs} ms (now ${member.state})`))
    }, timeoutMs)
    const off = member.onStateChange((to) => {
      if (to !== state) return
      clearTimeout(guard)
      off()
      resolve()
    })
  })
}

/** Resolves when `predicate` holds after a state change or clock step; polls only on those events. */
export async function eventually(timers: FakeTimers, predicate: () => boolean, steps = 100, stepMs = HEARTBEAT_MS): Promise<void> {
  for (let i = 0; i < steps; i++) {
    if (predicate()) return
    await timers.advance(stepMs)
  }
  if (!predicate()) throw new Error(`condition not met after ${steps} steps of ${stepMs} ms of fake time`)
}
