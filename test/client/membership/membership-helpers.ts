/**
 * Set-up shared by the membership flow tests: the embedded broker's group coordinator and the
 * members on one manual clock, the members reaching the broker through a BrokerWire, and recorded
 * hooks. The rules a member meets are the broker's; a test scripts the rest with the broker's fault
 * injection (`broker.faults`) or the wire (answers held in transit, requests never delivered).
 */
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { errorLogger } from '../../../src/net/logger.js'
import { GroupMember, type GroupMemberOptions } from '../../../src/client/membership/member.js'
import type { MemberState } from '../../../src/client/membership/state.js'
import { flatten } from '../../../src/client/membership/topic-partitions.js'
import type { TopicPartitions } from '../../../src/client/membership/topic-partitions.js'
import type { GroupMetadataSource } from '../../../src/client/membership/transport.js'
import type { BatonError } from '../../../src/protocol/errors/base.js'
import { CreatePartitions, DescribeGroups } from '../../../src/protocol/generated/index.js'
import { BrokerWire, type MemberTransport } from './broker-wire.js'
import { FakeTimers } from './fake-timers.js'

export const HEARTBEAT_MS = 100
export const SESSION_MS = 1_000
export const REBALANCE_MS = 5_000
export const GROUP = 'group'

export interface HookCall {
  hook: 'onRevoke' | 'onAssign' | 'onLost'
  partitions: string[]
  generationId: number
}

export function labels(groups: readonly TopicPartitions[]): string[] {
  return flatten(groups).map((tp) => `${tp.topic}-${tp.partition}`)
}

export class Harness {
  readonly errors: BatonError[] = []
  readonly members: GroupMember[] = []
  readonly metadata: GroupMetadataSource

  private constructor(
    readonly broker: EmbeddedBroker,
    readonly timers: FakeTimers,
    readonly wire: BrokerWire,
  ) {
    this.metadata = wire.metadata()
  }

  /**
   * A broker with the topic `orders` (4 partitions) whose group coordinator runs on the harness's
   * clock. @param lateMs how late each timer fires, on both sides (see FakeTimers).
   */
  static async start(lateMs = 0): Promise<Harness> {
    const timers = new FakeTimers(lateMs, 1_700_000_000_000)
    // Sessions of a second keep the tests short; Kafka's minimum (6 s) would refuse them.
    const broker = await startBroker({ nodes: 1, memory: true, autoCreateTopics: false, groups: { scheduler: timers, minSessionTimeoutMs: 100 } })
    broker.createTopic('orders', { partitions: 4 })
    return new Harness(broker, timers, new BrokerWire(broker.connectInProcess(), timers))
  }

  member(options: Partial<GroupMemberOptions> = {}): { member: GroupMember; calls: HookCall[]; transport: MemberTransport } {
    const calls: HookCall[] = []
    // Filled in below; hooks record the generation they ran under.
    const self: { member?: GroupMember } = {}
    const record = (hook: HookCall['hook']) => (partitions: TopicPartitions[]) => {
      calls.push({ hook, partitions: labels(partitions), generationId: self.member?.generationId ?? -1 })
    }
    const transport = this.wire.transport()
    const member = new GroupMember({
      groupId: GROUP,
      transport,
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
    return { member, calls, transport }
  }

  /** The group's members as the coordinator lists them (DescribeGroups). */
  async groupMembers(): Promise<string[]> {
    const res = await this.wire.call(DescribeGroups, () => ({ groups: [GROUP] }))
    return res.groups[0]!.members.map((m) => m.memberId)
  }

  /** Grows a topic to `count` partitions (CreatePartitions). */
  async growTopic(topic: string, count: number): Promise<void> {
    const res = await this.wire.call(CreatePartitions, () => ({ topics: [{ name: topic, count, assignments: null }], timeoutMs: 1_000, validateOnly: false }))
    const errorCode = res.results[0]?.errorCode
    if (errorCode !== 0) throw new Error(`growing ${topic} to ${count} partitions failed with error ${errorCode}`)
  }

  /**
   * Closes every member, then the broker. Members waiting in a join barrier, or on hooks that never
   * settle, are released by the rebalance timeout, which only passes on the harness's clock.
   */
  async close(): Promise<void> {
    let open = true
    const closed = Promise.all(this.members.map((m) => m.close())).finally(() => (open = false))
    for (let i = 0; i < 20 && open; i++) await this.timers.advance(REBALANCE_MS)
    try {
      if (open) throw new Error('members did not close')
      await closed
    } finally {
      await this.broker.stop()
    }
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
