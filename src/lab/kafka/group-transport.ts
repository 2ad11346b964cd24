/**
 * The group membership's transport for the lab's consumer: FindCoordinator through the client's
 * `Cluster`, then the group requests over a connection of the coordinator's own.
 *
 * baton's client has the membership state machine (`src/client/group/`) but, while this was
 * written, no consumer wiring it to real connections; the lab carries this small adapter until the
 * client's own consumer lands (then the lab should use that instead).
 *
 * The coordinator connection is separate from the fetch connection, as in Kafka's clients: brokers
 * answer one request per connection at a time, so a JoinGroup parked for a whole rebalance would
 * otherwise hold up fetches behind it.
 */
import type { ApiSpec } from '../../protocol/codec-runtime.js'
import type { Cluster } from '../../client/cluster.js'
import type { GroupMetadataSource, GroupTransport } from '../../client/group/transport.js'
import { ClientClosedError, MetadataError } from '../../client/errors.js'
import { CoordinatorConnection } from './coordinator-connection.js'

export class ClusterGroupTransport implements GroupTransport {
  private severed = false
  private connection: Promise<CoordinatorConnection> | undefined

  constructor(
    private readonly cluster: Cluster,
    private readonly groupId: string,
    private readonly clientId: string,
    /** JoinGroup and SyncGroup wait for the whole rebalance, so this is above the rebalance timeout. */
    private readonly requestTimeoutMs: number,
  ) {}

  async send<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, body: (version: number) => ReqInit): Promise<Res> {
    const connection = await this.coordinator()
    return connection.request(api, body, this.requestTimeoutMs)
  }

  coordinatorLost(): void {
    this.cluster.invalidateCoordinator('group', this.groupId)
    void this.drop()
  }

  /**
   * From now on nothing reaches the coordinator: no heartbeat, no commit and no LeaveGroup. This is
   * what a crashed process looks like from the broker's side.
   */
  sever(): void {
    this.severed = true
    void this.drop()
  }

  close(): Promise<void> {
    this.severed = true
    return this.drop()
  }

  private coordinator(): Promise<CoordinatorConnection> {
    if (this.severed) return Promise.reject(new ClientClosedError('The lab consumer'))
    const current = this.connection
    if (current !== undefined) {
      return current.then((c) => {
        if (!c.isClosed) return c
        if (this.connection === current) this.connection = undefined
        return this.coordinator()
      })
    }
    const opening = this.open()
    this.connection = opening
    opening.catch(() => {
      if (this.connection === opening) this.connection = undefined
    })
    return opening
  }

  private async open(): Promise<CoordinatorConnection> {
    const nodeId = await this.cluster.coordinator('group', this.groupId)
    const broker = this.cluster.brokers.get(nodeId)
    if (broker === undefined) throw new MetadataError(`the group coordinator, node ${nodeId}, is not in the metadata`, true)
    const connection = await CoordinatorConnection.open(broker.host, broker.port, this.clientId, this.cluster.config.connectTimeoutMs)
    if (this.severed) {
      connection.close()
      throw new ClientClosedError('The lab consumer')
    }
    return connection
  }

  private async drop(): Promise<void> {
    const current = this.connection
    this.connection = undefined
    if (current === undefined) return
    try {
      ;(await current).close()
    } catch {
      // It never opened; nothing to close.
    }
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
