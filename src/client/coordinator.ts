/**
 * Seams for consumer groups and transactions (later issues): a transport that sends requests to a
 * group's or transactional id's coordinator, and a metadata source for assignors. Both are plain
 * objects over the cluster, so group membership can be tested against a fake coordinator instead.
 */
import type { RequestBody } from '../net/connection.js'
import type { ApiSpec } from '../protocol/codec-runtime.js'
import type { Cluster, CoordinatorType } from './cluster.js'

export interface CoordinatorTransport {
  /** Sends to the coordinator, looking it up first if needed; error codes in the body are the caller's to read. */
  send<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, body: RequestBody<ReqInit>): Promise<Res>
  /** Forgets the coordinator after NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE or a dropped connection. */
  coordinatorLost(): void
}

export function coordinatorTransport(cluster: Cluster, type: CoordinatorType, key: string): CoordinatorTransport {
  return {
    async send(api, body) {
      const nodeId = await cluster.coordinator(type, key)
      return cluster.connectionTo(nodeId).request(api, body)
    },
    coordinatorLost() {
      cluster.invalidateCoordinator(type, key)
    },
  }
}

export interface TopicMetadataSource {
  /** Partition count of each topic that exists; missing topics are left out. */
  partitionCounts(topics: readonly string[]): Promise<Map<string, number>>
  /** Every non-internal topic name, for pattern subscriptions. */
  listTopics(): Promise<string[]>
}

export function topicMetadataSource(cluster: Cluster): TopicMetadataSource {
  return {
    async partitionCounts(topics) {
      await cluster.refresh(topics)
      const counts = new Map<string, number>()
      for (const topic of topics) {
        const count = cluster.partitionCount(topic)
        if (count > 0) counts.set(topic, count)
      }
      return counts
    },
    async listTopics() {
      const response = await cluster.fetchMetadata(null)
      return response.topics.filter((t) => !t.isInternal && t.errorCode === 0 && t.name !== null).map((t) => t.name!)
    },
  }
}
