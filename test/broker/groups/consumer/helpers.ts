/**
 * A consumer-group coordinator on a manual clock over a topic map the test changes, and a
 * heartbeat builder with the defaults of a member that owns what it was last given.
 */
import { GroupCoordinator, type GroupCoordinatorInit } from '../../../../src/broker/groups/coordinator.js'
import { assignmentOf, type Assignment } from '../../../../src/broker/groups/consumer/assignment.js'
import type { ConsumerHeartbeatRequest, ConsumerHeartbeatResult } from '../../../../src/broker/groups/consumer/coordinator.js'
import { ManualScheduler } from '../../../../src/broker/groups/scheduler.js'

export const SESSION_MS = 10_000
export const INTERVAL_MS = 1_000
export const REBALANCE_MS = 30_000

export interface Harness {
  coordinator: GroupCoordinator
  clock: ManualScheduler
  topics: Map<string, number>
}

export function consumerHarness(init: GroupCoordinatorInit = {}): Harness {
  const clock = new ManualScheduler()
  const topics = new Map<string, number>([['t', 6]])
  const coordinator = new GroupCoordinator({ initialRebalanceDelayMs: 0, consumerSessionTimeoutMs: SESSION_MS, consumerHeartbeatIntervalMs: INTERVAL_MS, ...init, scheduler: clock })
  coordinator.attachTopics({ partitionCount: (t) => topics.get(t), names: () => topics.keys() })
  return { coordinator, clock, topics }
}

export function request(overrides: Partial<ConsumerHeartbeatRequest> = {}): ConsumerHeartbeatRequest {
  return {
    groupId: 'g',
    memberId: '',
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: REBALANCE_MS,
    subscribedTopicNames: ['t'],
    subscribedTopicRegex: null,
    serverAssignor: null,
    owned: null,
    clientId: 'client',
    clientHost: '',
    ...overrides,
  }
}

/** A member as a client would run it: it owns what it was last given, and heartbeats with that. */
export class TestMember {
  memberId: string
  epoch = 0
  owned: Assignment = new Map()
  last: ConsumerHeartbeatResult | undefined

  constructor(
    private readonly h: Harness,
    memberId: string,
    private readonly base: Partial<ConsumerHeartbeatRequest> = {},
  ) {
    this.memberId = memberId
  }

  /** Joins (epoch 0) and takes what it is given. */
  join(overrides: Partial<ConsumerHeartbeatRequest> = {}): ConsumerHeartbeatResult {
    this.epoch = 0
    this.owned = new Map()
    return this.beat(overrides)
  }

  /** One heartbeat reporting what it owns; applies the answer (revokes and assigns at once). */
  beat(overrides: Partial<ConsumerHeartbeatRequest> = {}): ConsumerHeartbeatResult {
    const res = this.h.coordinator.consumerHeartbeat(
      request({ ...this.base, memberId: this.memberId, memberEpoch: this.epoch, owned: this.epoch === 0 ? null : this.owned, subscribedTopicNames: this.epoch === 0 ? (this.base.subscribedTopicNames ?? ['t']) : null, ...overrides }),
    )
    this.last = res
    if (res.errorCode === 0) {
      if (res.memberId !== null) this.memberId = res.memberId
      this.epoch = res.memberEpoch
      if (res.assignment !== null) this.owned = res.assignment
    }
    return res
  }

  partitions(topic = 't'): number[] {
    return [...(this.owned.get(topic) ?? [])]
  }
}

export const owned = (entries: Record<string, number[]>): Assignment => assignmentOf(Object.entries(entries))
