/**
 * startBroker: builds the shared cluster state, one node per listener, the retention timer and the
 * fault controls, and hands back what a test or the CLI needs.
 */
import { DirectoryStorage, MemoryStorage, type Storage } from './log/storage.js'
import { Cluster, type NodeEndpoint } from './cluster.js'
import { BrokerError } from './errors.js'
import { Faults } from './faults.js'
import { lazyGroupCoordinator } from './groups/broker-context.js'
import type { BrokerContext } from './handlers/handler.js'
import { supportedApis } from './handlers/index.js'
import { RequestMemoryPool } from '../net/request-memory.js'
import { BrokerNode } from './node.js'
import { resolveOptions, type BrokerOptions } from './options.js'
import { ConfigProblem, validateTopicConfigs } from './topic-config.js'
import type { SecurityProtocol } from './security/options.js'
import { saslSettingsOf, tlsServerOptionsOf } from './security/listener.js'
import { startTransactionCoordinator } from './transactions/broker-context.js'
import type { TransactionCoordinator } from './transactions/coordinator.js'

export interface CreateTopicOptions {
  partitions?: number
  replicationFactor?: number
  configs?: Record<string, string>
}

export interface TopicInfo {
  readonly name: string
  readonly id: string
  /** Leader node of each partition, by partition index. */
  readonly leaders: readonly number[]
}

/** A connection to one node with no socket in between (see `EmbeddedBroker.connectInProcess`). */
export interface InProcessConnection {
  /** Sends one request frame (without its size prefix); resolves with the response frame (without its size prefix), or null for a request that takes none. */
  request(frame: Buffer): Promise<Buffer | null>
}

export interface EmbeddedBroker {
  /** `host:port` of every node, node 0 first: a client's bootstrap list. */
  readonly bootstrap: string[]
  readonly nodes: readonly NodeEndpoint[]
  readonly clusterId: string
  readonly faults: Faults
  /** How clients must connect: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL. */
  readonly securityProtocol: SecurityProtocol
  /** Creates a topic directly (no request); throws BrokerError if Kafka would refuse it. */
  createTopic(name: string, options?: CreateTopicOptions): TopicInfo
  /** The topic's id and leaders, or undefined. */
  topic(name: string): TopicInfo | undefined
  /** Log start and end offsets of a partition, for assertions. */
  offsets(topic: string, partition: number): { logStartOffset: number; logEndOffset: number }
  /** Applies retention now instead of waiting for the periodic check. */
  applyRetention(): void
  /**
   * A connection to node `nodeId` (0 by default) that skips the socket: each frame goes through the
   * node's request pipeline, faults included, in this process. With the group coordinator on a
   * manual clock (`groups.scheduler`), a test then decides every moment of a rebalance with no real
   * time or I/O between a request and its answer.
   */
  connectInProcess(nodeId?: number): InProcessConnection
  /** Stops listening, closes every connection, answers pending long polls, syncs and closes the logs. */
  stop(): Promise<void>
}

export async function startBroker(options: BrokerOptions = {}): Promise<EmbeddedBroker> {
  const resolved = resolveOptions(options)
  const storage: Storage = resolved.dataDir === null ? new MemoryStorage() : new DirectoryStorage(resolved.dataDir, resolved.logger)
  let cluster: Cluster
  try {
    cluster = new Cluster(resolved, storage)
  } catch (error) {
    storage.close()
    throw error
  }
  const stopping = new AbortController()
  const sasl = saslSettingsOf(resolved.sasl)
  const groups = lazyGroupCoordinator(resolved, stopping.signal, cluster)
  let transactions: TransactionCoordinator
  try {
    // Started with the broker: transactions decided or left open before a restart are finished now.
    transactions = startTransactionCoordinator(cluster, resolved, groups, stopping.signal)
  } catch (error) {
    stopping.abort()
    cluster.close()
    throw error
  }
  const context: BrokerContext = {
    cluster,
    options: resolved,
    stopping: stopping.signal,
    groups,
    transactions: () => transactions,
    supportedApis: supportedApis(),
    ...(sasl === undefined ? {} : { sasl }),
  }
  const tls = tlsServerOptionsOf(resolved.tls)
  const nodes: BrokerNode[] = []
  const nodeOf = (nodeId: number): BrokerNode => {
    const node = nodes[nodeId]
    if (node === undefined) throw new BrokerError('BROKER_UNKNOWN_NODE', `no node ${nodeId}; nodes are 0..${nodes.length - 1}`)
    return node
  }
  const faults = new Faults(nodeOf, (topic, partition, nodeId) => cluster.moveLeader(topic, partition, nodeId), {
    delayMarkers: (ms) => transactions.delayMarkers(ms),
    moveCoordinator: (transactionalId, nodeId) => {
      nodeOf(nodeId)
      transactions.moveCoordinator(transactionalId, nodeId)
    },
  }, (topic, partition, offset) => cluster.truncateLog(topic, partition, offset))
  const memoryPool = new RequestMemoryPool(resolved.queuedMaxRequestBytes)
  for (const endpoint of cluster.nodes) nodes.push(new BrokerNode(endpoint, context, faults, memoryPool, tls))
  try {
    for (const node of nodes) await node.listen(resolved.port === 0 ? 0 : resolved.port + node.endpoint.nodeId)
  } catch (error) {
    // Closes the coordinators (their timers and files) as a stop would.
    stopping.abort()
    await Promise.all(nodes.map((n) => n.close()))
    cluster.close()
    throw new BrokerError('BROKER_INVALID_OPTION', `cannot listen on ${resolved.host}:${resolved.port}; pick a free port or 0`, { cause: error })
  }
  const retention = setInterval(() => cluster.applyRetention(Date.now()), resolved.retentionCheckIntervalMs)
  retention.unref()

  const describe = (name: string): TopicInfo | undefined => {
    const topic = cluster.topic(name)
    return topic === undefined ? undefined : { name, id: topic.id, leaders: topic.partitions.map((p) => p.leader) }
  }
  let stopped: Promise<void> | null = null
  const bootstrap = cluster.nodes.map((n) => `${n.host}:${n.port}`)
  resolved.logger.info({ bootstrap, dataDir: resolved.dataDir, securityProtocol: resolved.securityProtocol }, 'broker started')

  return {
    bootstrap,
    nodes: cluster.nodes,
    clusterId: cluster.clusterId,
    faults,
    securityProtocol: resolved.securityProtocol,
    createTopic(name, topicOptions = {}) {
      const partitions = topicOptions.partitions ?? resolved.defaultPartitions
      const factor = topicOptions.replicationFactor ?? Math.min(resolved.defaultReplicationFactor, cluster.nodes.length)
      const refusal = cluster.checkNewTopic(name, partitions, factor)
      if (refusal !== null) throw new BrokerError('BROKER_TOPIC', refusal.message)
      const configs = validateTopicConfigs(Object.entries(topicOptions.configs ?? {}).map(([key, value]) => ({ name: key, value })))
      if (configs instanceof ConfigProblem) throw new BrokerError('BROKER_TOPIC', configs.message)
      cluster.createTopic(name, partitions, factor, configs)
      return describe(name)!
    },
    topic: describe,
    offsets(topic, partition) {
      const p = cluster.partition(topic, partition)
      if (p === undefined) throw new BrokerError('BROKER_UNKNOWN_PARTITION', `no partition ${topic}-${partition}`)
      return { logStartOffset: p.log.logStartOffset, logEndOffset: p.log.logEndOffset }
    },
    applyRetention: () => cluster.applyRetention(Date.now()),
    connectInProcess(nodeId = 0) {
      const node = nodeOf(nodeId)
      const info = { id: -1, remote: 'in-process', remoteAddress: 'in-process', closeAfterResponse: () => undefined }
      return { request: async (frame) => (await node.answer(frame, info))?.subarray(4) ?? null }
    },
    stop() {
      stopped ??= (async () => {
        clearInterval(retention)
        stopping.abort()
        await Promise.all(nodes.map((n) => n.close()))
        cluster.sync()
        cluster.close()
        resolved.logger.info({ bootstrap }, 'broker stopped')
      })()
      return stopped
    },
  }
}
