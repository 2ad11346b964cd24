/**
 * The group membership's transport over the client's `Cluster`, for the lab's consumer.
 *
 * baton's client has the membership state machine (`src/client/group/`) but, while this was
 * written, no consumer wiring it to real connections; the lab carries this small adapter until the
 * client's own consumer lands (then the lab should use that instead).
 *
 * The group gets a Cluster of its own, so the coordinator connection is separate from the fetch
 * connection, as in Kafka's clients: brokers answer one request per connection at a time, so a
 * JoinGroup parked for a whole rebalance would otherwise hold up fetches and heartbeats behind it.
 */
import type { ApiSpec } from '../../protocol/codec-runtime.js'
import type { Cluster } from '../../client/cluster.js'
import type { GroupMetadataSource, GroupTransport } from '../../client/group/transport.js'
import { ClientClosedError } from '../../client/errors.js'

export class ClusterGroupTransport implements GroupTransport {
  private severed = false

  constructor(
    private readonly cluster: Cluster,
    private readonly groupId: string,
  ) {}

  async send<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, body: (version: number) => ReqInit): Promise<Res> {
    if (this.severed) throw new ClientClosedError('The lab consumer (crashed)')
    const nodeId = await this.cluster.coordinator('group', this.groupId)
    if (this.severed) throw new ClientClosedError('The lab consumer (crashed)')
    // JoinGroup and SyncGroup wait for the whole rebalance; the client's request timeout is set above it.
    return this.cluster.connectionTo(nodeId).request(api, body)
  }

  coordinatorLost(): void {
    this.cluster.invalidateCoordinator('group', this.groupId)
  }

  /**
   * From now on nothing reaches the coordinator: no heartbeat, no commit and no LeaveGroup. This is
   * what a crashed process looks like from the broker's side.
   */
  sever(): void {
    this.severed = true
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
    return response.topics.filter((t) => !t.isInternal && t.name !== null).map((t) => t.name as string)
  }
}
