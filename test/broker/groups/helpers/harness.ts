/**
 * Unit-test harness for the group coordinator: a coordinator on a manual clock, request builders
 * with sensible defaults, and a way to look at a JoinGroup/SyncGroup promise without awaiting it.
 */
import { GroupCoordinator, type GroupCoordinatorInit } from '../../../../src/broker/groups/coordinator.js'
import type { JoinRequest } from '../../../../src/broker/groups/membership.js'
import type { JoinResult, Protocol } from '../../../../src/broker/groups/member.js'
import { ManualScheduler } from '../../../../src/broker/groups/scheduler.js'
import { ConsumerProtocolSubscriptionCodec } from '../../../../src/protocol/generated/index.js'
import { Writer } from '../../../../src/protocol/primitives/writer.js'
import { KafkaErrorCode } from '../../../../src/protocol/errors/kafka-errors.js'

export const SESSION_MS = 10_000
export const REBALANCE_MS = 30_000

export function harness(init: GroupCoordinatorInit = {}): { coordinator: GroupCoordinator; clock: ManualScheduler } {
  const clock = new ManualScheduler()
  const coordinator = new GroupCoordinator({ initialRebalanceDelayMs: 0, ...init, scheduler: clock })
  return { coordinator, clock }
}

/** Consumer-protocol subscription bytes (version 0) for `topics`. */
export function subscription(topics: string[]): Buffer {
  const w = new Writer()
  w.int16(0)
  ConsumerProtocolSubscriptionCodec.encode(w, { topics }, 0)
  return w.finish()
}

export function protocols(...names: string[]): Protocol[] {
  return names.map((name) => ({ name, metadata: Buffer.from(`${name}-meta`) }))
}

export function joinRequest(overrides: Partial<JoinRequest> = {}): JoinRequest {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['t']) }],
    clientId: 'client',
    clientHost: '/127.0.0.1',
    requireKnownMemberId: false,
    ...overrides,
  }
}

/** A promise whose outcome can be checked synchronously once microtasks have run. */
export interface Tracked<T> {
  readonly promise: Promise<T>
  readonly value: T | undefined
  readonly done: boolean
}

export function track<T>(promise: Promise<T>): Tracked<T> {
  const state: { value: T | undefined; done: boolean } = { value: undefined, done: false }
  void promise.then((value) => {
    state.value = value
    state.done = true
  })
  return {
    promise,
    get value() {
      return state.value
    },
    get done() {
      return state.done
    },
  }
}

/** Lets already-resolved promise callbacks run; the coordinator settles everything synchronously. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** Joins a dynamic member through the MEMBER_ID_REQUIRED round trip; returns the second join. */
export async function joinWithId(coordinator: GroupCoordinator, overrides: Partial<JoinRequest> = {}): Promise<{ memberId: string; join: Tracked<JoinResult> }> {
  const first = await coordinator.join(joinRequest({ ...overrides, requireKnownMemberId: true }))
  if (first.errorCode !== KafkaErrorCode.MEMBER_ID_REQUIRED) throw new Error(`expected MEMBER_ID_REQUIRED, got ${first.errorCode}`)
  return { memberId: first.memberId, join: track(coordinator.join(joinRequest({ ...overrides, memberId: first.memberId, requireKnownMemberId: true }))) }
}

/**
 * Forms a stable group of `count` dynamic members (no initial delay): the first member forms
 * generation 1 alone, the others join, the first rejoins, and all meet in generation 2. The leader
 * assigns `assignment-<i>` to member i and everyone syncs. Member ids are returned in join order.
 */
export async function stableGroup(coordinator: GroupCoordinator, count: number, groupId = 'g'): Promise<{ members: string[]; generation: number; leader: string }> {
  let results: JoinResult[] = [await coordinator.join(joinRequest({ groupId, clientId: 'c0' }))]
  if (count > 1) {
    const others = Array.from({ length: count - 1 }, (_, i) => coordinator.join(joinRequest({ groupId, clientId: `c${i + 1}` })))
    const rejoin = coordinator.join(joinRequest({ groupId, memberId: results[0]!.memberId, clientId: 'c0' }))
    results = await Promise.all([rejoin, ...others])
  }
  if (results.some((r) => r.errorCode !== 0 || r.generationId !== results[0]!.generationId)) throw new Error('group did not form')
  const leader = results[0]!.leader
  const members = results.map((r) => r.memberId)
  const generation = results[0]!.generationId
  const synced = await Promise.all(
    members.map((memberId) =>
      coordinator.sync({
        groupId,
        generationId: generation,
        memberId,
        groupInstanceId: null,
        protocolType: null,
        protocolName: null,
        assignments: memberId === leader ? members.map((m, i) => ({ memberId: m, assignment: Buffer.from(`assignment-${i}`) })) : [],
      }),
    ),
  )
  if (synced.some((s) => s.errorCode !== 0)) throw new Error('sync failed')
  return { members, generation, leader }
}
