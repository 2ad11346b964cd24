/**
 * A scripted group coordinator for the membership tests: the classic protocol's rules that a member
 * can observe (MEMBER_ID_REQUIRED, a join barrier, the leader's SyncGroup, REBALANCE_IN_PROGRESS on
 * heartbeats during a rebalance, generation checks on commits), fully deterministic. A rebalance
 * completes when every known member has rejoined; `expire` stands in for the rebalance or session
 * timeout. `intercept` answers a request by API key before the rules do, to inject faults.
 */
import type { ApiSpec } from '../../../src/protocol/codec-runtime.js'
import { KafkaErrorCode } from '../../../src/protocol/errors/kafka-errors.js'
import {
  Heartbeat,
  JoinGroup,
  LeaveGroup,
  OffsetCommit,
  OffsetFetch,
  SyncGroup,
  type HeartbeatRequestInit,
  type JoinGroupRequestInit,
  type JoinGroupResponseInit,
  type LeaveGroupRequestInit,
  type OffsetCommitRequestInit,
  type OffsetFetchRequestInit,
  type SyncGroupRequestInit,
  type SyncGroupResponseInit,
} from '../../../src/protocol/generated/index.js'
import type { GroupTransport } from '../../../src/client/membership/transport.js'
import { Reader } from '../../../src/protocol/primitives/reader.js'
import { Writer } from '../../../src/protocol/primitives/writer.js'

interface Member {
  id: string
  instanceId: string | null
  protocols: { name: string; metadata: Uint8Array }[]
  join: ((res: JoinGroupResponseInit) => void) | undefined
  sync: ((res: SyncGroupResponseInit) => void) | undefined
}

export interface CommitRecord {
  memberId: string
  generationId: number
  topic: string
  partition: number
  offset: bigint
  metadata: string | null
}

type Interceptor = (body: unknown) => unknown

export class FakeCoordinator {
  readonly members = new Map<string, Member>()
  generation = 0
  state: 'empty' | 'preparing' | 'completing' | 'stable' = 'empty'
  leader = ''
  protocol = ''
  readonly commits: CommitRecord[] = []
  readonly log: { api: string; body: unknown }[] = []
  private nextId = 0
  private assignments = new Map<string, Uint8Array>()
  private readonly interceptors = new Map<number, Interceptor>()
  /** The version each API is spoken at; the newest stable one unless a test pins another. */
  readonly versions = new Map<number, number>()

  /**
   * A transport for one member; every member of a test shares the coordinator. Requests and
   * responses go through the generated codecs at the chosen version, as over a socket, so a field a
   * version cannot carry is lost (or refused) here too.
   */
  transport(): GroupTransport {
    return {
      send: async <Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, build: (version: number) => ReqInit): Promise<Res> => {
        const version = this.versions.get(api.apiKey) ?? api.maxStableVersion
        const body = roundTrip(api.request, build(version), version)
        this.log.push({ api: api.name, body })
        const response = this.interceptors.get(api.apiKey)?.(body) ?? this.handle(api, body, version)
        return roundTrip(api.response, (await Promise.resolve(response)) as ResInit, version)
      },
      coordinatorLost: () => undefined,
    }
  }

  /** Answers requests of this API with `fn`'s result; `undefined` falls through to the rules. */
  intercept(api: ApiSpec, fn: Interceptor | undefined): void {
    if (fn === undefined) this.interceptors.delete(api.apiKey)
    else this.interceptors.set(api.apiKey, fn)
  }

  requests(api: string): unknown[] {
    return this.log.filter((l) => l.api === api).map((l) => l.body)
  }

  /** Removes members that have not rejoined (the rebalance timeout passing), completing the rebalance. */
  expire(memberId?: string): void {
    for (const m of [...this.members.values()]) if (memberId === m.id || (memberId === undefined && m.join === undefined)) this.members.delete(m.id)
    if (memberId !== undefined) this.startRebalance()
    this.maybeCompleteJoin()
  }

  private handle(api: ApiSpec, body: unknown, version: number): Promise<unknown> {
    switch (api.apiKey) {
      case JoinGroup.apiKey:
        return this.joinGroup(body as JoinGroupRequestInit, version)
      case SyncGroup.apiKey:
        return this.syncGroup(body as SyncGroupRequestInit)
      case Heartbeat.apiKey:
        return Promise.resolve(this.heartbeat(body as HeartbeatRequestInit))
      case OffsetCommit.apiKey:
        return Promise.resolve(this.offsetCommit(body as OffsetCommitRequestInit))
      case LeaveGroup.apiKey:
        return Promise.resolve(this.leaveGroup(body as LeaveGroupRequestInit))
      case OffsetFetch.apiKey:
        return Promise.resolve(this.offsetFetch(body as OffsetFetchRequestInit))
      default:
        return Promise.reject(new Error(`fake coordinator does not handle ${api.name}`))
    }
  }

  private joinGroup(req: JoinGroupRequestInit, version: number): Promise<JoinGroupResponseInit> {
    const base = { leader: '', memberId: req.memberId, members: [] }
    let memberId = req.memberId
    if (memberId === '') {
      memberId = `member-${++this.nextId}`
      this.members.set(memberId, { id: memberId, instanceId: req.groupInstanceId ?? null, protocols: [...req.protocols], join: undefined, sync: undefined })
      // KIP-394: from v4 a new member first gets its id back and must join again with it.
      if (version >= 4) return Promise.resolve({ ...base, errorCode: KafkaErrorCode.MEMBER_ID_REQUIRED, memberId })
    }
    const member = this.members.get(memberId)
    if (member === undefined) return Promise.resolve({ ...base, errorCode: KafkaErrorCode.UNKNOWN_MEMBER_ID })
    member.protocols = [...req.protocols]
    this.startRebalance()
    return new Promise((resolve) => {
      member.join = resolve
      this.maybeCompleteJoin()
    })
  }

  private startRebalance(): void {
    if (this.state === 'preparing') return
    for (const m of this.members.values()) {
      m.sync?.({ errorCode: KafkaErrorCode.REBALANCE_IN_PROGRESS, assignment: Buffer.alloc(0) })
      m.sync = undefined
    }
    this.state = this.members.size === 0 ? 'empty' : 'preparing'
  }

  private maybeCompleteJoin(): void {
    if (this.state !== 'preparing') return
    const all = [...this.members.values()]
    if (all.length === 0 || all.some((m) => m.join === undefined)) return
    this.generation++
    this.state = 'completing'
    this.assignments.clear()
    const leader = this.members.has(this.leader) ? this.leader : all[0]!.id
    this.leader = leader
    this.protocol = all[0]!.protocols.map((p) => p.name).find((name) => all.every((m) => m.protocols.some((p) => p.name === name))) ?? ''
    for (const m of all) {
      const resolve = m.join!
      m.join = undefined
      resolve({
        errorCode: KafkaErrorCode.NONE,
        generationId: this.generation,
        protocolType: 'consumer',
        protocolName: this.protocol,
        leader,
        memberId: m.id,
        members:
          m.id === leader
            ? all.map((x) => ({ memberId: x.id, groupInstanceId: x.instanceId, metadata: x.protocols.find((p) => p.name === this.protocol)!.metadata }))
            : [],
      })
    }
  }

  private syncGroup(req: SyncGroupRequestInit): Promise<SyncGroupResponseInit> {
    const fail = (errorCode: number): Promise<SyncGroupResponseInit> => Promise.resolve({ errorCode, assignment: Buffer.alloc(0) })
    const member = this.members.get(req.memberId)
    if (member === undefined) return fail(KafkaErrorCode.UNKNOWN_MEMBER_ID)
    if (req.generationId !== this.generation) return fail(KafkaErrorCode.ILLEGAL_GENERATION)
    if (this.state === 'preparing') return fail(KafkaErrorCode.REBALANCE_IN_PROGRESS)
    if (this.state === 'stable') return Promise.resolve({ errorCode: 0, assignment: this.assignments.get(member.id) ?? Buffer.alloc(0) })
    if (req.memberId === this.leader) {
      for (const a of req.assignments) this.assignments.set(a.memberId, a.assignment)
      this.state = 'stable'
      for (const m of this.members.values()) {
        m.sync?.({ errorCode: 0, assignment: this.assignments.get(m.id) ?? Buffer.alloc(0) })
        m.sync = undefined
      }
      return Promise.resolve({ errorCode: 0, assignment: this.assignments.get(member.id) ?? Buffer.alloc(0) })
    }
    return new Promise((resolve) => {
      member.sync = resolve
    })
  }

  private heartbeat(req: HeartbeatRequestInit): { errorCode: number } {
    if (!this.members.has(req.memberId)) return { errorCode: KafkaErrorCode.UNKNOWN_MEMBER_ID }
    if (req.generationId !== this.generation) return { errorCode: KafkaErrorCode.ILLEGAL_GENERATION }
    if (this.state === 'preparing') return { errorCode: KafkaErrorCode.REBALANCE_IN_PROGRESS }
    return { errorCode: KafkaErrorCode.NONE }
  }

  private offsetCommit(req: OffsetCommitRequestInit) {
    const memberId = req.memberId ?? ''
    const generationId = req.generationIdOrMemberEpoch ?? -1
    let errorCode: number = KafkaErrorCode.NONE
    if (!this.members.has(memberId)) errorCode = KafkaErrorCode.UNKNOWN_MEMBER_ID
    else if (generationId !== this.generation) errorCode = KafkaErrorCode.ILLEGAL_GENERATION
    // Kafka accepts commits of the current generation while preparing a rebalance, not while completing it.
    else if (this.state === 'completing') errorCode = KafkaErrorCode.REBALANCE_IN_PROGRESS
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        if (errorCode === KafkaErrorCode.NONE) {
          this.commits.push({ memberId, generationId, topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata: p.committedMetadata ?? null })
        }
        return { partitionIndex: p.partitionIndex, errorCode }
      }),
    }))
    return { topics }
  }

  /** The latest commit of each asked partition, in the layout of the version asked (v8+ batches groups). */
  private offsetFetch(req: OffsetFetchRequestInit) {
    const asked = req.groups?.[0]?.topics ?? req.topics ?? []
    const topics = asked.map((t) => ({
      name: t.name ?? '',
      partitions: (t.partitionIndexes ?? []).map((partitionIndex) => {
        const last = this.commits.filter((c) => c.topic === t.name && c.partition === partitionIndex).at(-1)
        return { partitionIndex, committedOffset: last?.offset ?? -1n, metadata: last?.metadata ?? null, errorCode: 0 }
      }),
    }))
    if (req.groups !== undefined && req.groups.length > 0) return { groups: [{ groupId: req.groups[0]!.groupId ?? '', topics, errorCode: 0 }] }
    return { topics, errorCode: 0 }
  }

  private leaveGroup(req: LeaveGroupRequestInit) {
    // v0-2 name one member at the top level, v3+ a list of them.
    const leaving = req.members !== undefined && req.members.length > 0 ? req.members.map((m) => m.memberId ?? '') : [req.memberId ?? '']
    for (const id of leaving) this.members.delete(id)
    this.startRebalance()
    this.maybeCompleteJoin()
    return { errorCode: 0, members: [] }
  }
}

/** A metadata source over a mutable topic table. */
export class FakeMetadata {
  constructor(readonly topics: Map<string, number>) {}

  partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    return Promise.resolve(new Map(topics.filter((t) => this.topics.has(t)).map((t) => [t, this.topics.get(t)!])))
  }

  listTopics(): Promise<string[]> {
    return Promise.resolve([...this.topics.keys()])
  }
}

/** Encodes and decodes a message at `version`, as a trip over the wire would. */
function roundTrip<T, TInit>(codec: { encode(w: Writer, v: TInit, version: number): void; decode(r: Reader, version: number): T }, value: TInit, version: number): T {
  const w = new Writer()
  codec.encode(w, value, version)
  return codec.decode(new Reader(w.finish()), version)
}
