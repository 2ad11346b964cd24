/**
 * baton's group consumer with one fault added for the lab: a crash. The consumer's process "dies":
 * its coordinator connection closes and refuses everything from then on (no commit, no heartbeat,
 * no LeaveGroup), and its fetching stops. The coordinator hears nothing more and evicts the member
 * after the session timeout, as when a process is killed.
 */
import type { Cluster } from '../../client/cluster.js'
import { GroupConsumer, type ClosableGroupTransport } from '../../client/consumer/group-consumer.js'
import { ClusterGroupTransport } from '../../client/membership/cluster-adapter.js'
import type { ApiSpec } from '../../protocol/codec-runtime.js'
import { BatonError } from '../../protocol/errors/base.js'

/** What a crashed member's requests fail with. Not retriable: a dead process sends nothing again. */
export class MemberCrashedError extends BatonError {
  readonly retriable = false

  constructor() {
    super('LAB_MEMBER_CRASHED', 'this member crashed in the lab; it sends nothing more')
  }
}

class SeverableTransport extends ClusterGroupTransport {
  private severed = false

  sever(): Promise<void> {
    this.severed = true
    return this.close()
  }

  override async send<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, body: (version: number) => ReqInit): Promise<Res> {
    if (this.severed) throw new MemberCrashedError()
    return super.send(api, body)
  }
}

export class CrashableGroupConsumer extends GroupConsumer {
  declare protected readonly transport: SeverableTransport

  protected override createTransport(cluster: Cluster, groupId: string, rebalanceTimeoutMs: number): ClosableGroupTransport {
    return new SeverableTransport(cluster, groupId, rebalanceTimeoutMs)
  }

  /** Dies on the spot; see the module comment. */
  async crash(): Promise<void> {
    await this.transport.sever()
    await this.consumer.close()
  }
}
