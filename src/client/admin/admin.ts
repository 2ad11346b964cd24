/**
 * The admin client: topics, partitions, offsets, configs, cluster and groups. Each method sends the
 * request to the broker that must answer it (the controller for topic changes, partition leaders
 * for offsets and record deletion, the group coordinator for group offsets), retries retriable
 * errors after refreshing metadata, and turns error codes into KafkaErrors naming what failed.
 */
import { KafkaErrorCode, kafkaError } from '../../protocol/errors/kafka-errors.js'
import {
  ConsumerGroupDescribe,
  CreatePartitions,
  CreateTopics,
  DeleteGroups,
  DeleteRecords,
  DeleteTopics,
  DescribeCluster,
  DescribeConfigs,
  DescribeGroups,
  ListGroups,
  ListOffsets,
  OffsetCommit,
  OffsetFetch,
} from '../../protocol/generated/index.js'
import { Cluster, type BrokerInfo } from '../cluster.js'
import { resolveClientConfig, type ClientConfig } from '../config.js'
import { everyKeyOf, refuseUnknownKeys } from '../option-names.js'
import { ClientClosedError, InvalidRecordError } from '../errors.js'
import { withRetries } from '../retry.js'
import type { Connection } from '../../net/connection.js'

export interface NewTopic {
  name: string
  /** Default: the broker's num.partitions (-1). */
  partitions?: number
  /** Default: the broker's default.replication.factor (-1). */
  replicationFactor?: number
  configs?: Readonly<Record<string, string>>
}

const NEW_TOPIC_OPTION_NAMES = everyKeyOf<NewTopic>()(['name', 'partitions', 'replicationFactor', 'configs'])

export type OffsetSpec = 'earliest' | 'latest' | { timestamp: number }

export interface PartitionOffset {
  partition: number
  /** -1 when no record has a timestamp at or after the one asked for. */
  offset: bigint
  timestamp: number
}

export interface ConfigEntry {
  value: string | null
  readOnly: boolean
  isSensitive: boolean
  /** Kafka's ConfigSource code (5 = default, 1 = topic, ...); -1 from v0 brokers. */
  source: number
}

export interface ConfigResource {
  type: 'topic' | 'broker'
  name: string
}

export interface GroupListing {
  groupId: string
  protocolType: string
  state: string
  /** 'classic' or 'consumer' (KIP-848) from brokers that say (ListGroups v5); '' from older ones. */
  type: string
}

/** A KIP-848 consumer group as ConsumerGroupDescribe reports it. */
export interface ConsumerGroupDescription {
  groupId: string
  state: string
  groupEpoch: number
  assignmentEpoch: number
  assignor: string
  members: Array<{
    memberId: string
    instanceId: string | null
    memberEpoch: number
    clientId: string
    clientHost: string
    assignment: Array<{ topic: string; partitions: number[] }>
  }>
}

export interface GroupDescription {
  groupId: string
  state: string
  protocolType: string
  protocol: string
  members: Array<{ memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; assignment: Buffer }>
}

export interface GroupOffset {
  topic: string
  partition: number
  /** -1 when the group has no committed offset for the partition. */
  offset: bigint
  metadata: string | null
}

const RESOURCE_TYPE = { topic: 2, broker: 4 } as const
const DEFAULT_TIMEOUT_MS = 30_000

export class Admin {
  readonly cluster: Cluster
  private closed = false

  constructor(config: ClientConfig) {
    this.cluster = new Cluster(resolveClientConfig(config))
  }

  async connect(): Promise<void> {
    if (this.closed) throw new ClientClosedError('The admin client')
    await this.cluster.connect()
  }

  /** Creates topics; rejects with the first topic's KafkaError (e.g. TOPIC_ALREADY_EXISTS). */
  async createTopics(topics: readonly NewTopic[], options: { validateOnly?: boolean; timeoutMs?: number } = {}): Promise<void> {
    topics.forEach((t, i) => {
      if (typeof t.name !== 'string' || t.name.length === 0) throw new InvalidRecordError('every topic needs a non-empty name')
      // A misspelt key (`numPartitions`) would otherwise create a topic of the broker's default size.
      refuseUnknownKeys(`topics[${i}]`, t, NEW_TOPIC_OPTION_NAMES)
    })
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    const response = await this.toController((c) =>
      c.request(CreateTopics, (version) => ({
        topics: topics.map((t) => ({
          name: t.name,
          numPartitions: t.partitions ?? -1,
          replicationFactor: t.replicationFactor ?? -1,
          assignments: [],
          configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
        timeoutMs,
        ...(version >= 1 ? { validateOnly: options.validateOnly ?? false } : {}),
      })),
    )
    for (const t of response.topics) {
      if (t.errorCode !== 0) throw kafkaError(t.errorCode, { api: 'CreateTopics', topic: t.name, errorMessage: t.errorMessage })
    }
    if (options.validateOnly !== true) await this.cluster.waitForTopics(topics.map((t) => t.name)).catch(() => undefined)
  }

  async deleteTopics(names: readonly string[], options: { timeoutMs?: number } = {}): Promise<void> {
    const response = await this.toController((c) => c.request(DeleteTopics, { topicNames: names, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS }))
    for (const t of response.responses) {
      if (t.errorCode !== 0) throw kafkaError(t.errorCode, { api: 'DeleteTopics', topic: t.name ?? '', errorMessage: t.errorMessage })
    }
  }

  /** Raises a topic's partition count to `count` (Kafka cannot lower it). */
  async createPartitions(topic: string, count: number, options: { validateOnly?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const response = await this.toController((c) =>
      c.request(CreatePartitions, { topics: [{ name: topic, count, assignments: null }], timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, validateOnly: options.validateOnly ?? false }),
    )
    for (const r of response.results) {
      if (r.errorCode !== 0) throw kafkaError(r.errorCode, { api: 'CreatePartitions', topic: r.name, errorMessage: r.errorMessage })
    }
    await this.cluster.refresh([topic])
  }

  /** Topic names in the cluster, internal topics left out. */
  async listTopics(): Promise<string[]> {
    const response = await this.cluster.fetchMetadata(null)
    return response.topics.filter((t) => !t.isInternal && t.name !== null && t.errorCode === 0).map((t) => t.name!)
  }

  async describeCluster(): Promise<{ clusterId: string | null; controllerId: number; brokers: BrokerInfo[] }> {
    const connection = await this.anyConnection()
    if (connection.supports(DescribeCluster)) {
      const response = await connection.request(DescribeCluster, { includeClusterAuthorizedOperations: false })
      if (response.errorCode !== 0) throw kafkaError(response.errorCode, { api: 'DescribeCluster', errorMessage: response.errorMessage })
      return {
        clusterId: response.clusterId,
        controllerId: response.controllerId,
        brokers: response.brokers.map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack })),
      }
    }
    await this.cluster.fetchMetadata([])
    return { clusterId: this.cluster.clusterId, controllerId: this.cluster.controllerId, brokers: [...this.cluster.brokers.values()] }
  }

  /** Configs of topics and brokers, by name. Broker configs are asked of that broker. */
  async describeConfigs(resources: readonly ConfigResource[]): Promise<Array<ConfigResource & { configs: Record<string, ConfigEntry> }>> {
    const results: Array<ConfigResource & { configs: Record<string, ConfigEntry> }> = []
    for (const resource of resources) {
      const connection = resource.type === 'broker' ? this.cluster.connectionTo(Number(resource.name)) : await this.anyConnection()
      const response = await connection.request(DescribeConfigs, {
        resources: [{ resourceType: RESOURCE_TYPE[resource.type], resourceName: resource.name, configurationKeys: null }],
      })
      for (const r of response.results) {
        if (r.errorCode !== 0) {
          throw kafkaError(r.errorCode, { api: 'DescribeConfigs', ...(resource.type === 'topic' ? { topic: resource.name } : { broker: resource.name }), errorMessage: r.errorMessage })
        }
        const configs: Record<string, ConfigEntry> = {}
        for (const c of r.configs) configs[c.name] = { value: c.value, readOnly: c.readOnly, isSensitive: c.isSensitive, source: c.configSource }
        results.push({ ...resource, configs })
      }
    }
    return results
  }

  /** The earliest, latest, or first-at-timestamp offset of every partition of a topic. */
  async listOffsets(topic: string, spec: OffsetSpec = 'latest'): Promise<PartitionOffset[]> {
    const timestamp = spec === 'earliest' ? -2n : spec === 'latest' ? -1n : BigInt(spec.timestamp)
    await this.cluster.waitForTopics([topic])
    const count = this.cluster.partitionCount(topic)
    const partitions = Array.from({ length: count }, (_, p) => p)
    const results = await this.perLeader(topic, partitions, async (connection, leaderPartitions) => {
      const response = await connection.request(ListOffsets, {
        replicaId: -1,
        topics: [{ name: topic, partitions: leaderPartitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
      })
      return response.topics.flatMap((t) =>
        t.partitions.map((p) => {
          if (p.errorCode !== 0) throw kafkaError(p.errorCode, { api: 'ListOffsets', topic, partition: p.partitionIndex, broker: connection.label })
          return { partition: p.partitionIndex, offset: p.offset, timestamp: Number(p.timestamp) }
        }),
      )
    })
    return results.sort((a, b) => a.partition - b.partition)
  }

  /** Deletes records before the given offsets (-1n: up to the high watermark); returns the new log start offsets. */
  async deleteRecords(topic: string, offsets: ReadonlyArray<{ partition: number; offset: bigint }>, options: { timeoutMs?: number } = {}): Promise<Array<{ partition: number; lowWatermark: bigint }>> {
    await this.cluster.waitForTopics([topic])
    const byPartition = new Map(offsets.map((o) => [o.partition, o.offset]))
    const results = await this.perLeader(topic, [...byPartition.keys()], async (connection, leaderPartitions) => {
      const response = await connection.request(DeleteRecords, {
        topics: [{ name: topic, partitions: leaderPartitions.map((partitionIndex) => ({ partitionIndex, offset: byPartition.get(partitionIndex)! })) }],
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      })
      return response.topics.flatMap((t) =>
        t.partitions.map((p) => {
          if (p.errorCode !== 0) throw kafkaError(p.errorCode, { api: 'DeleteRecords', topic, partition: p.partitionIndex, broker: connection.label })
          return { partition: p.partitionIndex, lowWatermark: p.lowWatermark }
        }),
      )
    })
    return results.sort((a, b) => a.partition - b.partition)
  }

  /** Groups known to every broker (each coordinator lists its own). */
  async listGroups(): Promise<GroupListing[]> {
    await this.cluster.fetchMetadata([])
    const lists = await Promise.all(
      [...this.cluster.brokers.keys()].map(async (nodeId) => {
        const connection = this.cluster.connectionTo(nodeId)
        const response = await connection.request(ListGroups, {})
        if (response.errorCode !== 0) throw kafkaError(response.errorCode, { api: 'ListGroups', broker: nodeId })
        return response.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState, type: g.groupType }))
      }),
    )
    return lists.flat()
  }

  async describeGroups(groupIds: readonly string[]): Promise<GroupDescription[]> {
    const descriptions: GroupDescription[] = []
    for (const groupId of groupIds) {
      const response = await this.toCoordinator(groupId, (c) => c.request(DescribeGroups, { groups: [groupId] }), (r) => r.groups[0]?.errorCode ?? 0)
      for (const g of response.groups) {
        if (g.errorCode !== 0) throw kafkaError(g.errorCode, { api: 'DescribeGroups', groupId: g.groupId })
        descriptions.push({
          groupId: g.groupId,
          state: g.groupState,
          protocolType: g.protocolType,
          protocol: g.protocolData,
          members: g.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost, assignment: m.memberAssignment })),
        })
      }
    }
    return descriptions
  }

  /**
   * A KIP-848 consumer group's description, or null when the group is not one (a classic group, or
   * a broker without ConsumerGroupDescribe): then describeGroups() is the way.
   */
  async describeConsumerGroup(groupId: string): Promise<ConsumerGroupDescription | null> {
    const response = await this.toCoordinator(
      groupId,
      async (c) => (c.supports(ConsumerGroupDescribe) ? c.request(ConsumerGroupDescribe, { groupIds: [groupId], includeAuthorizedOperations: false }) : null),
      (r) => r?.groups[0]?.errorCode ?? 0,
    )
    const g = response?.groups[0]
    if (g === undefined) return null
    if (g.errorCode === KafkaErrorCode.GROUP_ID_NOT_FOUND) return null
    if (g.errorCode !== 0) throw kafkaError(g.errorCode, { api: 'ConsumerGroupDescribe', groupId, errorMessage: g.errorMessage })
    return {
      groupId: g.groupId,
      state: g.groupState,
      groupEpoch: g.groupEpoch,
      assignmentEpoch: g.assignmentEpoch,
      assignor: g.assignorName,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        instanceId: m.instanceId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: m.assignment.topicPartitions.map((t) => ({ topic: t.topicName, partitions: [...t.partitions] })),
      })),
    }
  }

  /** Deletes groups that have no members; rejects with the first group's KafkaError (e.g. NON_EMPTY_GROUP). */
  async deleteGroups(groupIds: readonly string[]): Promise<void> {
    for (const groupId of groupIds) {
      const response = await this.toCoordinator(groupId, (c) => c.request(DeleteGroups, { groupsNames: [groupId] }), (r) => r.results[0]?.errorCode ?? 0)
      for (const r of response.results) {
        if (r.errorCode !== 0) throw kafkaError(r.errorCode, { api: 'DeleteGroups', groupId: r.groupId })
      }
    }
  }

  /**
   * Sets a group's committed offsets from outside the group (generation -1, no member), as Kafka's
   * alterConsumerGroupOffsets does; the coordinator refuses it while the group has members.
   */
  async alterGroupOffsets(groupId: string, offsets: ReadonlyArray<{ topic: string; partition: number; offset: bigint }>): Promise<void> {
    const byTopic = new Map<string, Array<{ partition: number; offset: bigint }>>()
    for (const o of offsets) {
      let list = byTopic.get(o.topic)
      if (list === undefined) byTopic.set(o.topic, (list = []))
      list.push(o)
    }
    const response = await this.toCoordinator(
      groupId,
      (c) =>
        c.request(OffsetCommit, {
          groupId,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          topics: [...byTopic].map(([name, list]) => ({
            name,
            partitions: list.map((o) => ({ partitionIndex: o.partition, committedOffset: o.offset, committedMetadata: null })),
          })),
        }),
      (r) => r.topics[0]?.partitions[0]?.errorCode ?? 0,
    )
    for (const t of response.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) throw kafkaError(p.errorCode, { api: 'OffsetCommit', groupId, topic: t.name, partition: p.partitionIndex })
      }
    }
  }

  /** A group's committed offsets, for the given topics' partitions or (when omitted) all it has. */
  async fetchOffsets(groupId: string, topics?: ReadonlyArray<{ topic: string; partitions: readonly number[] }>): Promise<GroupOffset[]> {
    const response = await this.toCoordinator(
      groupId,
      (c) => c.request(OffsetFetch, { groupId, topics: topics === undefined ? null : topics.map((t) => ({ name: t.topic, partitionIndexes: t.partitions })) }),
      (r) => r.errorCode,
    )
    if (response.errorCode !== 0) throw kafkaError(response.errorCode, { api: 'OffsetFetch', groupId })
    const offsets: GroupOffset[] = []
    for (const t of response.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) throw kafkaError(p.errorCode, { api: 'OffsetFetch', groupId, topic: t.name, partition: p.partitionIndex })
        offsets.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata })
      }
    }
    return offsets
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.cluster.close()
  }

  private retryOptions() {
    const c = this.cluster.config
    return { deadline: Date.now() + c.requestTimeoutMs, backoffMs: c.retryBackoffMs, backoffMaxMs: c.retryBackoffMaxMs, stopped: () => this.closed }
  }

  private async anyConnection(): Promise<Connection> {
    if (this.closed) throw new ClientClosedError('The admin client')
    if (this.cluster.brokers.size === 0) await this.cluster.connect()
    const [first] = this.cluster.brokers.keys()
    return this.cluster.connectionTo(first!)
  }

  /** Sends to the controller, following it on NOT_CONTROLLER. */
  private toController<T>(send: (connection: Connection) => Promise<T>): Promise<T> {
    return withRetries(async () => {
      if (this.closed) throw new ClientClosedError('The admin client')
      await this.cluster.fetchMetadata([])
      const controller = this.cluster.controllerId
      const connection = controller >= 0 && this.cluster.brokers.has(controller) ? this.cluster.connectionTo(controller) : await this.anyConnection()
      const result = await send(connection)
      const code = controllerError(result)
      if (code === KafkaErrorCode.NOT_CONTROLLER) throw kafkaError(code, { api: 'admin request', broker: connection.label })
      return result
    }, this.retryOptions())
  }

  /** Sends to a group's coordinator, looking it up again when it moved or is loading. */
  private toCoordinator<T>(groupId: string, send: (connection: Connection) => Promise<T>, errorOf: (result: T) => number): Promise<T> {
    return withRetries(async (attempt) => {
      const nodeId = await this.cluster.coordinator('group', groupId, attempt > 1)
      const result = await send(this.cluster.connectionTo(nodeId))
      const code = errorOf(result)
      if (code === KafkaErrorCode.NOT_COORDINATOR || code === KafkaErrorCode.COORDINATOR_NOT_AVAILABLE || code === KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
        this.cluster.invalidateCoordinator('group', groupId)
        throw kafkaError(code, { api: 'group request', groupId })
      }
      return result
    }, this.retryOptions())
  }

  /** Runs a request per partition leader of a topic and joins the results, retrying after leader changes. */
  private perLeader<T>(topic: string, partitions: readonly number[], send: (connection: Connection, partitions: number[]) => Promise<T[]>): Promise<T[]> {
    return withRetries(
      async () => {
        const byLeader = new Map<number, number[]>()
        for (const p of partitions) {
          const leader = this.cluster.leaderOf(topic, p)
          if (leader === undefined) throw kafkaError(KafkaErrorCode.LEADER_NOT_AVAILABLE, { topic, partition: p })
          let list = byLeader.get(leader)
          if (list === undefined) byLeader.set(leader, (list = []))
          list.push(p)
        }
        const parts = await Promise.all([...byLeader].map(([leader, list]) => send(this.cluster.connectionTo(leader), list)))
        return parts.flat()
      },
      { ...this.retryOptions(), onRetry: () => this.cluster.refresh([topic]) },
    )
  }
}

/** NOT_CONTROLLER may come in any topic's result; find it so the request goes to the new controller. */
function controllerError(result: unknown): number {
  const r = result as { topics?: Array<{ errorCode: number }>; responses?: Array<{ errorCode: number }>; results?: Array<{ errorCode: number }> }
  const entries = r.topics ?? r.responses ?? r.results ?? []
  return entries.find((e) => e.errorCode === KafkaErrorCode.NOT_CONTROLLER)?.errorCode ?? 0
}
