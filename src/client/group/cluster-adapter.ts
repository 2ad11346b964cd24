/**
 * Plugs the membership into the client's cluster: requests go to the group's coordinator (found
 * with FindCoordinator and cached by the cluster), metadata comes from the cluster's cache.
 */
import { NetworkError } from '../../net/errors.js'
import type { ApiSpec } from '../../protocol/codec-runtime.js'
import { JoinGroup } from '../../protocol/generated/index.js'
import type { Cluster } from '../cluster.js'
import type { GroupMetadataSource, GroupTransport } from './transport.js'

export class ClusterGroupTransport implements GroupTransport {
  constructor(
    private readonly cluster: Cluster,
    private readonly groupId: string,
    /** JoinGroup is answered only when the rebalance completes, so its request may take this much longer. */
    private readonly rebalanceTimeoutMs: number,
  ) {}

  async send<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, body: (version: number) => ReqInit): Promise<Res> {
    const nodeId = await this.cluster.coordinator('group', this.groupId)
    const timeoutMs = api.apiKey === JoinGroup.apiKey ? this.cluster.config.requestTimeoutMs + this.rebalanceTimeoutMs : undefined
    try {
      return await this.cluster.connectionTo(nodeId).request(api, body, timeoutMs === undefined ? {} : { timeoutMs })
    } catch (err) {
      // The coordinator may have moved or died; look it up again next time.
      if (err instanceof NetworkError) this.coordinatorLost()
      throw err
    }
  }

  coordinatorLost(): void {
    this.cluster.invalidateCoordinator('group', this.groupId)
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

  async listTopics(): Promise<string[]> {
    const response = await this.cluster.fetchMetadata(null)
    return response.topics.filter((t) => t.name !== null && !t.isInternal && t.errorCode === 0).map((t) => t.name!)
  }
}
