/**
 * What the client knows about the cluster: brokers, topics, partition leaders and coordinators, and
 * one connection per broker. Requests are routed here to the partition leader or a coordinator.
 *
 * Metadata is refreshed on demand (a producer or fetcher saw NOT_LEADER_OR_FOLLOWER,
 * UNKNOWN_TOPIC_OR_PARTITION or a newer leader epoch), on an interval (metadataMaxAgeMs), and for
 * topics the client starts using. Concurrent refresh requests share one Metadata round trip. A
 * partition's leader is never replaced by one with an older leader epoch (KIP-320): a lagging
 * broker's metadata must not send the client back to a former leader.
 */
import { Connection, type RequestBody } from '../net/connection.js'
import type { ApiSpec } from '../protocol/codec-runtime.js'
import { NetworkError } from '../net/errors.js'
import { KafkaErrorCode, kafkaError } from '../protocol/errors/kafka-errors.js'
import { FindCoordinator, Metadata, type MetadataResponse } from '../protocol/generated/index.js'
import { connectionOptions, type BrokerAddress, type ResolvedClientConfig } from './config.js'
import { ClientClosedError, MetadataError } from './errors.js'
import { withRetries } from './retry.js'

export interface BrokerInfo {
  readonly nodeId: number
  readonly host: string
  readonly port: number
  readonly rack: string | null
}

export interface PartitionInfo {
  readonly topic: string
  readonly partition: number
  /** -1 while the partition has no leader. */
  readonly leader: number
  readonly leaderEpoch: number
  readonly replicas: readonly number[]
  readonly isr: readonly number[]
  readonly errorCode: number
}

export interface TopicInfo {
  readonly name: string
  readonly topicId: string
  readonly isInternal: boolean
  readonly errorCode: number
  readonly partitions: readonly PartitionInfo[]
}

/** At most one "no broker could be reached" warning per this interval. */
const UNREACHABLE_WARN_INTERVAL_MS = 10_000

export type CoordinatorType = 'group' | 'transaction'

const COORDINATOR_KEY_TYPE: Record<CoordinatorType, number> = { group: 0, transaction: 1 }

export class Cluster {
  readonly config: ResolvedClientConfig
  clusterId: string | null = null
  controllerId = -1
  private readonly brokerMap = new Map<number, BrokerInfo>()
  private readonly topicMap = new Map<string, TopicInfo>()
  private readonly interest = new Set<string>()
  private readonly connections = new Map<number, Connection>()
  private bootstrapConnections: Connection[]
  private readonly coordinators = new Map<string, number>()
  private refreshing: Promise<void> | null = null
  private queued: Promise<void> | null = null
  private timer: NodeJS.Timeout | undefined
  private isClosed = false
  private lastRefreshAt = 0
  private unreachableWarnedAt = 0

  constructor(config: ResolvedClientConfig) {
    this.config = config
    this.bootstrapConnections = config.bootstrap.map((address) => this.newConnection(address))
  }

  get closed(): boolean {
    return this.isClosed
  }

  get brokers(): ReadonlyMap<number, BrokerInfo> {
    return this.brokerMap
  }

  /** Learns the cluster from a bootstrap broker and starts the periodic refresh. */
  async connect(): Promise<void> {
    await this.refresh()
    if (this.timer === undefined && !this.isClosed) {
      this.timer = setInterval(() => {
        if (Date.now() - this.lastRefreshAt >= this.config.metadataMaxAgeMs / 2) this.refresh().catch(() => undefined)
      }, this.config.metadataMaxAgeMs)
      this.timer.unref()
    }
  }

  topic(name: string): TopicInfo | undefined {
    return this.topicMap.get(name)
  }

  /** Adds topics to those kept in metadata; returns whether any was new. */
  track(topics: Iterable<string>): boolean {
    let added = false
    for (const topic of topics) {
      if (!this.interest.has(topic)) {
        this.interest.add(topic)
        added = true
      }
    }
    return added
  }

  /**
   * Refreshes metadata for the tracked topics (plus `topics`, which become tracked). Calls made
   * while a refresh is running share the next one, so a burst of errors costs one extra request.
   */
  refresh(topics: Iterable<string> = []): Promise<void> {
    this.track(topics)
    if (this.isClosed) return Promise.reject(new ClientClosedError('The client'))
    if (this.queued !== null) return this.queued
    if (this.refreshing !== null) {
      const queued = this.refreshing
        .catch(() => undefined)
        .then(() => {
          this.queued = null
          return this.startRefresh()
        })
      this.queued = queued
      return queued
    }
    return this.startRefresh()
  }

  private startRefresh(): Promise<void> {
    const refreshing = this.fetchMetadata([...this.interest]).then(
      () => undefined,
      (error: unknown) => {
        throw error
      },
    )
    this.refreshing = refreshing.finally(() => {
      this.refreshing = null
    })
    return this.refreshing
  }

  /** Fetches metadata for `topics` (all topics when null) and merges it. */
  async fetchMetadata(topics: string[] | null): Promise<MetadataResponse> {
    const autoCreate = this.config.allowAutoTopicCreation
    const response = await this.requestAnyBroker(Metadata, (version) => ({
      topics: topics === null ? null : topics.map((name) => ({ name })),
      // Before v4 the broker decides alone (it auto-creates if enabled).
      ...(version >= 4 ? { allowAutoTopicCreation: autoCreate } : {}),
    }))
    this.merge(response)
    return response
  }

  /**
   * Resolves once every topic is known with its partitions, refreshing until the deadline.
   * @throws KafkaError UNKNOWN_TOPIC_OR_PARTITION (or the topic's own error) when it stays unknown.
   */
  async waitForTopics(topics: readonly string[], timeoutMs = this.config.requestTimeoutMs): Promise<void> {
    this.track(topics)
    const missing = (): string[] => topics.filter((t) => (this.topicMap.get(t)?.partitions.length ?? 0) === 0)
    if (missing().length === 0) return
    await withRetries(
      async () => {
        await this.refresh()
        const first = missing()[0]
        if (first === undefined) return
        const code = this.topicMap.get(first)?.errorCode ?? KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        throw kafkaError(code === 0 ? KafkaErrorCode.LEADER_NOT_AVAILABLE : code, { api: 'Metadata', topic: first })
      },
      { deadline: Date.now() + timeoutMs, backoffMs: this.config.retryBackoffMs, backoffMaxMs: this.config.retryBackoffMaxMs, stopped: () => this.isClosed },
    )
  }

  partitionCount(topic: string): number {
    return this.topicMap.get(topic)?.partitions.length ?? 0
  }

  partition(topic: string, partition: number): PartitionInfo | undefined {
    return this.topicMap.get(topic)?.partitions[partition]
  }

  /** The leader's node id, or undefined while the partition has none (or is unknown). */
  leaderOf(topic: string, partition: number): number | undefined {
    const info = this.partition(topic, partition)
    return info === undefined || info.leader < 0 ? undefined : info.leader
  }

  /**
   * A hint from a Produce or Fetch response (KIP-951) or an error: if it names a newer leader epoch,
   * take it at once and refresh in the background; a refresh is also started when no hint is given.
   */
  leaderHint(topic: string, partition: number, leaderId = -1, leaderEpoch = -1): void {
    const info = this.partition(topic, partition)
    const topicInfo = this.topicMap.get(topic)
    if (info !== undefined && topicInfo !== undefined && leaderId >= 0 && leaderEpoch > info.leaderEpoch && this.brokerMap.has(leaderId)) {
      const partitions = [...topicInfo.partitions]
      partitions[partition] = { ...info, leader: leaderId, leaderEpoch }
      this.topicMap.set(topic, { ...topicInfo, partitions })
    }
    this.refresh().catch(() => undefined)
  }

  /** The connection to a broker by node id. */
  connectionTo(nodeId: number): Connection {
    const existing = this.connections.get(nodeId)
    if (existing !== undefined) return existing
    const broker = this.brokerMap.get(nodeId)
    if (broker === undefined) throw new MetadataError(`broker ${nodeId} is not in the cluster metadata; it may have left the cluster`, true)
    if (this.isClosed) throw new ClientClosedError('The client')
    const connection = this.newConnection(broker, nodeId)
    this.connections.set(nodeId, connection)
    return connection
  }

  /** The node id of the coordinator for a group or transactional id, looked up once and cached. */
  async coordinator(type: CoordinatorType, key: string, refresh = false): Promise<number> {
    const cacheKey = `${type}:${key}`
    const cached = this.coordinators.get(cacheKey)
    if (cached !== undefined && !refresh) return cached
    const context = type === 'group' ? { groupId: key } : { transactionalId: key }
    const nodeId = await withRetries(
      async () => {
        const response = await this.requestAnyBroker(FindCoordinator, (version) =>
          version >= 1 ? { key, keyType: COORDINATOR_KEY_TYPE[type] } : { key },
        )
        if (response.errorCode !== 0) {
          throw kafkaError(response.errorCode, { api: 'FindCoordinator', ...context, errorMessage: response.errorMessage })
        }
        if (!this.brokerMap.has(response.nodeId)) {
          this.brokerMap.set(response.nodeId, { nodeId: response.nodeId, host: response.host, port: response.port, rack: null })
        }
        return response.nodeId
      },
      { deadline: Date.now() + this.config.requestTimeoutMs, backoffMs: this.config.retryBackoffMs, backoffMaxMs: this.config.retryBackoffMaxMs, stopped: () => this.isClosed },
    )
    this.coordinators.set(cacheKey, nodeId)
    return nodeId
  }

  /** Forgets a coordinator after NOT_COORDINATOR or a lost connection, so the next call looks it up. */
  invalidateCoordinator(type: CoordinatorType, key: string): void {
    this.coordinators.delete(`${type}:${key}`)
  }

  /**
   * Sends a request to any reachable broker: known brokers first, then the bootstrap list. Used for
   * metadata and other requests any broker can answer.
   */
  async requestAnyBroker<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, body: RequestBody<ReqInit>): Promise<Res> {
    if (this.isClosed) throw new ClientClosedError('The client')
    const candidates = this.candidateConnections()
    let lastError: unknown
    for (const connection of candidates) {
      try {
        return await connection.request(api, body)
      } catch (error) {
        if (!(error instanceof NetworkError) || !error.retriable) throw error
        lastError = error
      }
    }
    const error = new MetadataError(
      `no broker could be reached (tried ${candidates.map((c) => c.label).join(', ')}); check bootstrapServers and that the brokers are up`,
      true,
      { cause: lastError },
    )
    // Retried by the callers, often many times a second: one warning per interval says it is happening.
    const now = Date.now()
    if (now - this.unreachableWarnedAt >= UNREACHABLE_WARN_INTERVAL_MS) {
      this.unreachableWarnedAt = now
      this.config.logger.warn({ err: error, code: error.code, api: api.name }, error.message)
    }
    throw error
  }

  /** Connected brokers first (cheapest), then other known brokers, then the bootstrap addresses. */
  private candidateConnections(): Connection[] {
    const known = [...this.brokerMap.keys()].map((id) => this.connectionTo(id))
    const ready = known.filter((c) => c.ready)
    const rest = shuffle(known.filter((c) => !c.ready))
    return [...ready, ...rest, ...this.bootstrapConnections]
  }

  private merge(response: MetadataResponse): void {
    this.lastRefreshAt = Date.now()
    this.clusterId = response.clusterId
    this.controllerId = response.controllerId
    const seen = new Set<number>()
    for (const broker of response.brokers) {
      seen.add(broker.nodeId)
      const previous = this.brokerMap.get(broker.nodeId)
      if (previous !== undefined && (previous.host !== broker.host || previous.port !== broker.port)) {
        // The broker moved: the old connection points at the wrong address.
        const stale = this.connections.get(broker.nodeId)
        this.connections.delete(broker.nodeId)
        stale?.close().catch(() => undefined)
      }
      this.brokerMap.set(broker.nodeId, { nodeId: broker.nodeId, host: broker.host, port: broker.port, rack: broker.rack })
    }
    for (const nodeId of [...this.brokerMap.keys()]) {
      if (!seen.has(nodeId) && response.brokers.length > 0) {
        this.brokerMap.delete(nodeId)
        const gone = this.connections.get(nodeId)
        this.connections.delete(nodeId)
        gone?.close().catch(() => undefined)
      }
    }
    // Once a broker answered, the bootstrap connections are only a fallback: close idle open ones and
    // keep unopened replacements, which connect again only if every known broker becomes unreachable.
    this.bootstrapConnections = this.bootstrapConnections.map((connection, i) => {
      if (connection.pendingRequests > 0 || !connection.ready) return connection
      connection.close().catch(() => undefined)
      return this.newConnection(this.config.bootstrap[i]!)
    })
    for (const topic of response.topics) {
      if (topic.name === null) continue
      const previous = this.topicMap.get(topic.name)
      const partitions: PartitionInfo[] = []
      for (const p of topic.partitions) {
        const old = previous?.partitions[p.partitionIndex]
        // KIP-320: metadata from a broker that has not caught up must not roll a leader back.
        if (old !== undefined && p.leaderEpoch >= 0 && old.leaderEpoch > p.leaderEpoch) {
          partitions[p.partitionIndex] = old
          continue
        }
        partitions[p.partitionIndex] = {
          topic: topic.name,
          partition: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          errorCode: p.errorCode,
        }
      }
      const dense = partitions.length === topic.partitions.length && partitions.every((p) => p !== undefined)
      this.topicMap.set(topic.name, {
        name: topic.name,
        topicId: topic.topicId,
        isInternal: topic.isInternal,
        errorCode: topic.errorCode,
        partitions: dense ? partitions : [],
      })
    }
  }

  private newConnection(address: BrokerAddress, nodeId?: number): Connection {
    return new Connection(connectionOptions(this.config, address, nodeId))
  }

  async close(): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    clearInterval(this.timer)
    const all = [...this.connections.values(), ...this.bootstrapConnections]
    this.connections.clear()
    await Promise.all(all.map((c) => c.close()))
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const t = items[i]!
    items[i] = items[j]!
    items[j] = t
  }
  return items
}
