/**
 * The cluster's shared state: nodes, topics, partitions and who leads them. Every node of the
 * process reads the same Cluster; handlers run on Node's one thread, so no locks are needed.
 *
 * Replication is simulated: each partition has one log, its replicas are node ids reported in
 * Metadata and always in sync. Leadership is what is real to clients: only the leader node serves a
 * partition's Produce, Fetch, ListOffsets and DeleteRecords.
 */
import { randomBytes } from 'node:crypto'
import { KafkaErrorCode } from '../protocol/errors/kafka-errors.js'
import { BrokerError } from './errors.js'
import type { Storage, StoredCluster } from './log/storage.js'
import type { PartitionLog } from './log/partition-log.js'
import type { ResolvedBrokerOptions } from './options.js'
import { LeaderEpochCache } from './leader-epochs.js'
import { PartitionProducers, ProducerIds } from './producers.js'
import { logConfigOf } from './topic-config.js'
import { endTransactionMarkerOf } from './log/batches.js'
import { PartitionTransactions } from './transactions/partition-state.js'

export interface NodeEndpoint {
  readonly nodeId: number
  readonly host: string
  port: number
}

export class Partition {
  constructor(
    readonly topic: Topic,
    readonly index: number,
    public replicas: number[],
    public leaderEpoch: number,
    readonly log: PartitionLog,
    /** Sequence state of idempotent producers, rebuilt from the log on recovery. */
    readonly producers: PartitionProducers,
    /** Where each leader epoch starts, rebuilt from the batches' epochs on recovery. */
    readonly epochs: LeaderEpochCache,
    /** Open transactions and the aborted-transaction index, rebuilt from the log on recovery. */
    readonly transactions: PartitionTransactions,
  ) {}

  get leader(): number {
    return this.replicas[0]!
  }

  /** read_committed consumers read below this offset only (KIP-98). */
  get lastStableOffset(): number {
    return this.transactions.lastStableOffset(this.log.highWatermark)
  }
}

export class Topic {
  readonly partitions: Partition[] = []

  constructor(
    readonly name: string,
    readonly id: string,
    readonly configs: Readonly<Record<string, string>>,
    readonly replicationFactor: number,
  ) {}
}

/** A refusal to report to the client: a Kafka error code and a message saying what to change. */
export interface Refusal {
  readonly errorCode: number
  readonly message: string
}

const MAX_TOPIC_NAME = 249
/**
 * More partitions than any development topic needs; it keeps one request's partition count from
 * exhausting the process's memory or file descriptors.
 */
export const MAX_PARTITIONS = 10_000

/** Kafka's topic-name rule; null when the name is legal. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'topic name is empty'
  if (name.length > MAX_TOPIC_NAME) return `topic name is ${name.length} characters, more than ${MAX_TOPIC_NAME}`
  if (name === '.' || name === '..') return `topic name "${name}" is reserved`
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) return `topic name "${name}" may contain only ASCII letters, digits, '.', '_' and '-'`
  return null
}

/** A random topic id in Kafka's form; like Kafka, never one whose text starts with '-'. */
function newTopicId(): string {
  for (;;) {
    const bytes = randomBytes(16)
    const id = bytes.toString('base64url')
    if (!id.startsWith('-') && !bytes.equals(Buffer.alloc(16))) return id
  }
}

export class Cluster {
  readonly nodes: NodeEndpoint[]
  readonly controllerId = 0
  readonly producerIds = new ProducerIds()
  readonly clusterId: string
  private readonly topicsByName = new Map<string, Topic>()
  private readonly topicsById = new Map<string, Topic>()
  private readonly storage: Storage
  private readonly options: ResolvedBrokerOptions
  private placement = 0

  constructor(options: ResolvedBrokerOptions, storage: Storage) {
    this.options = options
    this.storage = storage
    this.nodes = Array.from({ length: options.nodes }, (_, nodeId) => ({ nodeId, host: options.advertisedHost, port: 0 }))
    const stored = storage.loadCluster()
    this.clusterId = options.clusterId ?? stored?.clusterId ?? randomBytes(16).toString('base64url')
    if (stored !== null) this.restore(stored)
    else this.save()
  }

  get topics(): IterableIterator<Topic> {
    return this.topicsByName.values()
  }

  topic(name: string): Topic | undefined {
    return this.topicsByName.get(name)
  }

  topicById(id: string): Topic | undefined {
    return this.topicsById.get(id)
  }

  partition(topic: string, index: number): Partition | undefined {
    return this.topicsByName.get(topic)?.partitions[index]
  }

  node(nodeId: number): NodeEndpoint | undefined {
    return this.nodes[nodeId]
  }

  /** Checks a CreateTopics request's numbers; null when it can be created. */
  checkNewTopic(name: string, numPartitions: number, replicationFactor: number): Refusal | null {
    const nameProblem = topicNameProblem(name)
    if (nameProblem !== null) return { errorCode: KafkaErrorCode.INVALID_TOPIC_EXCEPTION, message: nameProblem }
    if (this.topicsByName.has(name)) return { errorCode: KafkaErrorCode.TOPIC_ALREADY_EXISTS, message: `topic ${name} already exists` }
    if (numPartitions < 1 || numPartitions > MAX_PARTITIONS) {
      return { errorCode: KafkaErrorCode.INVALID_PARTITIONS, message: `number of partitions must be between 1 and ${MAX_PARTITIONS}, got ${numPartitions}` }
    }
    if (replicationFactor < 1 || replicationFactor > this.nodes.length) {
      return {
        errorCode: KafkaErrorCode.INVALID_REPLICATION_FACTOR,
        message: `replication factor ${replicationFactor} is not between 1 and the ${this.nodes.length} node(s) of this broker`,
      }
    }
    return null
  }

  /** Creates a topic whose parameters passed checkNewTopic; -1 means the broker's default. */
  createTopic(
    name: string,
    numPartitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    assignments: readonly (readonly number[])[] = [],
  ): Topic {
    const partitions = numPartitions === -1 ? this.options.defaultPartitions : numPartitions
    const factor = replicationFactor === -1 ? Math.min(this.options.defaultReplicationFactor, this.nodes.length) : replicationFactor
    const topic = new Topic(name, newTopicId(), configs, factor)
    this.register(topic)
    this.addPartitions(topic, partitions, assignments)
    return topic
  }

  /**
   * Checks replica assignments given by a client (CreateTopics, CreatePartitions): each lists
   * distinct existing nodes, all of the same length. Null when they are usable.
   */
  checkAssignments(assignments: readonly (readonly number[])[], replicationFactor: number): Refusal | null {
    for (const [i, replicas] of assignments.entries()) {
      const problem =
        replicas.length === 0
          ? 'lists no nodes'
          : replicas.length !== replicationFactor
            ? `lists ${replicas.length} nodes, not ${replicationFactor}`
            : new Set(replicas).size !== replicas.length
              ? 'lists a node twice'
              : replicas.some((id) => this.nodes[id] === undefined)
                ? `names a node outside 0..${this.nodes.length - 1}`
                : null
      if (problem !== null) return { errorCode: KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT, message: `assignment ${i} ${problem}` }
    }
    return null
  }

  /**
   * Grows a topic to `count` partitions. New partitions take the given assignments, else leaders
   * go round-robin over the nodes, each partition's replicas on the nodes that follow its leader.
   */
  addPartitions(topic: Topic, count: number, assignments: readonly (readonly number[])[] = []): void {
    const start = this.placement++
    for (let index = topic.partitions.length; index < count; index++) {
      const given = assignments[index - topic.partitions.length]
      const replicas = given !== undefined ? [...given] : Array.from({ length: topic.replicationFactor }, (_, i) => (start + index + i) % this.nodes.length)
      topic.partitions.push(this.openPartition(topic, index, replicas, 0))
    }
    this.save()
  }

  deleteTopic(topic: Topic): void {
    this.topicsByName.delete(topic.name)
    this.topicsById.delete(topic.id)
    for (const partition of topic.partitions) partition.log.remove()
    this.save()
  }

  /** Makes `nodeId` the leader (it joins the replicas if it was not one) and bumps the leader epoch. */
  moveLeader(topicName: string, index: number, nodeId: number): void {
    const partition = this.partition(topicName, index)
    if (partition === undefined) throw new BrokerError('BROKER_UNKNOWN_PARTITION', `no partition ${topicName}-${index}; create the topic first`)
    if (this.nodes[nodeId] === undefined) throw new BrokerError('BROKER_UNKNOWN_NODE', `no node ${nodeId}; nodes are 0..${this.nodes.length - 1}`)
    const others = partition.replicas.filter((id) => id !== nodeId)
    partition.replicas = [nodeId, ...others.slice(0, Math.max(0, partition.replicas.length - 1))]
    partition.leaderEpoch++
    // A new leader starts its epoch at the log end, as Kafka's makeLeader does.
    partition.epochs.record(partition.leaderEpoch, partition.log.logEndOffset)
    this.save()
  }

  /**
   * Fault injection: the partition's log loses everything from `offset` on and a new leader epoch
   * starts there, as after an unclean leader election. Idempotent producer and transaction state
   * are left alone; tests of divergence write plain records.
   */
  truncateLog(topicName: string, index: number, offset: number): void {
    const partition = this.partition(topicName, index)
    if (partition === undefined) throw new BrokerError('BROKER_UNKNOWN_PARTITION', `no partition ${topicName}-${index}; create the topic first`)
    let end: number
    try {
      end = partition.log.truncateTo(offset)
    } catch (error) {
      throw new BrokerError('BROKER_INVALID_OPTION', `cannot truncate ${topicName}-${index}: start the broker in memory to use this fault`, { cause: error })
    }
    partition.epochs.truncateFrom(end)
    partition.leaderEpoch++
    partition.epochs.record(partition.leaderEpoch, end)
    this.save()
  }

  applyRetention(now: number): void {
    for (const topic of this.topicsByName.values()) {
      for (const partition of topic.partitions) {
        const deleted = partition.log.applyRetention(now)
        partition.transactions.trimBelow(partition.log.logStartOffset)
        if (deleted > 0) {
          this.options.logger.info({ topic: topic.name, partition: partition.index, segments: deleted }, 'retention deleted segments')
        }
      }
    }
  }

  /** Makes every partition's active segment durable. */
  sync(): void {
    for (const topic of this.topicsByName.values()) for (const partition of topic.partitions) partition.log.sync()
  }

  close(): void {
    for (const topic of this.topicsByName.values()) for (const partition of topic.partitions) partition.log.close()
    this.storage.close()
  }

  private register(topic: Topic): void {
    this.topicsByName.set(topic.name, topic)
    this.topicsById.set(topic.id, topic)
  }

  private openPartition(topic: Topic, index: number, replicas: number[], leaderEpoch: number): Partition {
    const producers = new PartitionProducers()
    const epochs = new LeaderEpochCache()
    const transactions = new PartitionTransactions()
    const log = this.storage.openPartition(topic.name, index, () => logConfigOf(topic.configs), Date.now(), (header, batch) => {
      epochs.record(header.partitionLeaderEpoch, Number(header.baseOffset))
      if (header.producerId < 0n) return
      this.producerIds.observe(header.producerId)
      const baseOffset = Number(header.baseOffset)
      if (header.isControl) {
        const marker = endTransactionMarkerOf(batch)
        if (marker === null) return
        producers.recordMarker(header.producerId, header.producerEpoch, header.maxTimestamp)
        transactions.onMarker(header.producerId, baseOffset, marker === 'commit')
        return
      }
      producers.record(header, baseOffset, header.maxTimestamp)
      transactions.onData(header.producerId, header.producerEpoch, baseOffset, header.isTransactional)
    })
    transactions.trimBelow(log.logStartOffset)
    epochs.record(leaderEpoch, log.logEndOffset)
    return new Partition(topic, index, replicas, leaderEpoch, log, producers, epochs, transactions)
  }

  private restore(stored: StoredCluster): void {
    for (const saved of stored.topics) {
      const topic = new Topic(saved.name, saved.id, saved.configs, saved.partitions[0]?.replicas.length ?? 1)
      this.register(topic)
      saved.partitions.forEach((p, index) => {
        // A restart with fewer nodes keeps every partition served by a node that exists.
        const replicas = p.replicas.filter((id) => id < this.nodes.length)
        topic.partitions.push(this.openPartition(topic, index, replicas.length > 0 ? replicas : [index % this.nodes.length], p.leaderEpoch))
      })
    }
    this.save()
  }

  private save(): void {
    this.storage.saveCluster({
      clusterId: this.clusterId,
      topics: [...this.topicsByName.values()].map((topic) => ({
        name: topic.name,
        id: topic.id,
        configs: { ...topic.configs },
        partitions: topic.partitions.map((p) => ({ leaderEpoch: p.leaderEpoch, replicas: p.replicas })),
      })),
    })
  }
}
