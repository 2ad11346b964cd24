/**
 * Plugs the membership into the client's cluster: the coordinator is found with FindCoordinator
 * (cached by the cluster), metadata comes from the cluster's cache.
 *
 * Group requests get connections of their own to the coordinator, as in Kafka's clients: a broker
 * answers a connection's requests one at a time, so a JoinGroup parked for a whole rebalance on a
 * shared connection would hold up the fetches and produces queued behind it. For the same reason
 * JoinGroup and SyncGroup, which the coordinator parks until the rebalance completes (a crashed
 * member's whole session timeout), get one connection and every other group request another: an
 * OffsetCommit made while the member rejoins is then answered at once, under the generation it
 * holds, instead of queueing behind the JoinGroup until the rebalance has moved past that
 * generation; a heartbeat or a LeaveGroup is not held up either.
 */
import { Connection } from '../../net/connection.js'
import { NetworkError } from '../../net/errors.js'
import type { ApiSpec } from '../../protocol/codec-runtime.js'
import { JoinGroup, SyncGroup } from '../../protocol/generated/index.js'
import type { Cluster } from '../cluster.js'
import { connectionOptions } from '../config.js'
import { MetadataError } from '../errors.js'
import type { GroupMetadataSource, GroupTransport } from './transport.js'

/** Which of the two coordinator connections a request goes over. */
type Lane = 'parked' | 'prompt'

export class ClusterGroupTransport implements GroupTransport {
  private readonly connections = new Map<Lane, Connection>()
  /** When the coordinator last answered (or the first request was made); undefined before any. */
  private lastAnswerAt: number | undefined

  constructor(
    private readonly cluster: Cluster,
    private readonly groupId: string,
    /** JoinGroup and SyncGroup are answered only when the rebalance completes, so they may take this much longer. */
    private readonly rebalanceTimeoutMs: number,
  ) {}

  async send<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, body: (version: number) => ReqInit): Promise<Res> {
    this.lastAnswerAt ??= performance.now()
    const waitsForRebalance = api.apiKey === JoinGroup.apiKey || api.apiKey === SyncGroup.apiKey
    const connection = await this.coordinatorConnection(waitsForRebalance ? 'parked' : 'prompt')
    const options = waitsForRebalance ? { timeoutMs: this.cluster.config.requestTimeoutMs + this.rebalanceTimeoutMs } : {}
    try {
      const response = await connection.request(api, body, options)
      this.lastAnswerAt = performance.now()
      return response
    } catch (err) {
      // The coordinator may have moved or died; look it up again next time.
      if (err instanceof NetworkError) this.coordinatorLost()
      throw err
    }
  }

  /**
   * How long the coordinator has been out of reach: 0 while a connection to it is open (a JoinGroup
   * parked for a whole rebalance is waiting, not unreachable), else the time since it last answered.
   */
  unreachableMs(): number {
    if (this.lastAnswerAt === undefined || [...this.connections.values()].some((c) => c.ready)) return 0
    return performance.now() - this.lastAnswerAt
  }

  coordinatorLost(): void {
    this.cluster.invalidateCoordinator('group', this.groupId)
    this.dropConnection()
  }

  /** Closes the coordinator connections; call after the member has closed. */
  async close(): Promise<void> {
    const open = [...this.connections.values()]
    this.connections.clear()
    await Promise.all(open.map((c) => c.close()))
  }

  private async coordinatorConnection(lane: Lane): Promise<Connection> {
    const nodeId = await this.cluster.coordinator('group', this.groupId)
    const current = this.connections.get(lane)
    if (current !== undefined && current.nodeId === nodeId) return current
    // The coordinator moved: neither connection goes to it any more.
    if (current !== undefined) this.dropConnection()
    const broker = this.cluster.brokers.get(nodeId)
    if (broker === undefined) throw new MetadataError(`the group coordinator, broker ${nodeId}, is not in the cluster metadata`, true)
    const connection = new Connection(connectionOptions(this.cluster.config, broker, nodeId))
    this.connections.set(lane, connection)
    return connection
  }

  private dropConnection(): void {
    const open = [...this.connections.values()]
    this.connections.clear()
    // Requests still on them fail with a retriable NetworkError, which the membership retries.
    for (const connection of open) connection.close().catch(() => undefined)
  }
}

export class ClusterMetadataSource implements GroupMetadataSource {
  constructor(private readonly cluster: Cluster) {}

  async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    await this.cluster.refresh(topics)
    const counts = new Map<string, number>()
    for (const topic of topics) {
      const count = this.cluster.partitionCount(topic)
      if (count > 0) counts.set(topic, count)
    }
    return counts
  }

  async topicNamesById(): Promise<Map<string, string>> {
    const response = await this.cluster.fetchMetadata(null)
    const names = new Map<string, string>()
    for (const t of response.topics) if (t.name !== null && t.errorCode === 0) names.set(t.topicId, t.name)
    return names
  }

  async listTopics(): Promise<string[]> {
    const response = await this.cluster.fetchMetadata(null)
    return response.topics.filter((t) => t.name !== null && !t.isInternal && t.errorCode === 0).map((t) => t.name!)
  }
}
