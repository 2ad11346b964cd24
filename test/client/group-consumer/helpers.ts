/**
 * Shared by the group consumer tests: an embedded broker with short group timeouts, a consumer
 * whose coordinator traffic can be cut (crash) or held (stall), and a condition to wait on.
 */
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import type { Cluster } from '../../../src/client/cluster.js'
import { GroupConsumer, type ClosableGroupTransport, type GroupConsumerConfig } from '../../../src/client/consumer/group-consumer.js'
import { ClusterGroupTransport } from '../../../src/client/membership/cluster-adapter.js'
import { Producer } from '../../../src/client/producer/producer.js'
import { NetworkError } from '../../../src/net/errors.js'
import type { ApiSpec } from '../../../src/protocol/codec-runtime.js'
import { BatonError } from '../../../src/protocol/errors/base.js'

export const SESSION_TIMEOUT_MS = 1_500
export const HEARTBEAT_MS = 100
export const REBALANCE_TIMEOUT_MS = 5_000
export const WAIT_MS = 15_000

export function startTestBroker(nodes = 1): Promise<EmbeddedBroker> {
  return startBroker({
    nodes,
    memory: true,
    autoCreateTopics: false,
    groups: { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 500, consumerSessionTimeoutMs: SESSION_TIMEOUT_MS, consumerHeartbeatIntervalMs: HEARTBEAT_MS },
  })
}

/** The same timings for KIP-848 members: the coordinator sets the heartbeat interval (startTestBroker does). */
export function consumerProtocolTimings(): Pick<GroupConsumerConfig, 'sessionTimeoutMs' | 'rebalanceTimeoutMs' | 'fetchMaxWaitMs' | 'retryBackoffMs'> {
  return { sessionTimeoutMs: SESSION_TIMEOUT_MS, rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS, fetchMaxWaitMs: 50, retryBackoffMs: 50 }
}

/** The timings every test consumer uses: a crash is noticed within a couple of seconds. */
export function groupTimings(): Pick<GroupConsumerConfig, 'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'rebalanceTimeoutMs' | 'fetchMaxWaitMs' | 'retryBackoffMs'> {
  return { sessionTimeoutMs: SESSION_TIMEOUT_MS, heartbeatIntervalMs: HEARTBEAT_MS, rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS, fetchMaxWaitMs: 50, retryBackoffMs: 50 }
}

/** Refused by a crashed consumer's transport: not retriable, so nothing waits on it. */
export class CrashedError extends BatonError {
  constructor() {
    super('TEST_CRASHED', 'this consumer crashed in the test')
  }
}

/**
 * The real coordinator connection, until crash() (nothing more is sent) or stall(): then requests
 * go unanswered until unstall(), as on a network that drops packets with a request timeout longer
 * than the session; the member must notice its session is gone meanwhile.
 */
export class FaultyTransport extends ClusterGroupTransport {
  crashed = false
  private stalled: Array<() => void> | undefined

  crash(): Promise<void> {
    this.crashed = true
    this.unstall()
    return this.close()
  }

  stall(): void {
    this.stalled ??= []
  }

  /** Ends the stall: the held requests fail as if the network had dropped them. */
  unstall(): void {
    const held = this.stalled ?? []
    this.stalled = undefined
    for (const release of held) release()
  }

  override async send<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, body: (version: number) => ReqInit): Promise<Res> {
    if (this.crashed) throw new CrashedError()
    const stalled = this.stalled
    if (stalled !== undefined) {
      await new Promise<void>((resolve) => stalled.push(resolve))
      throw new NetworkError('NET_CONNECTION_LOST', { broker: 'stalled', api: api.name }, 'the test held this request and dropped it')
    }
    return super.send(api, body)
  }
}

/** A group consumer whose process can "die": its sockets close and nothing more reaches the broker. */
export class FaultyGroupConsumer extends GroupConsumer {
  declare protected readonly transport: FaultyTransport
  dead = false

  /** Heartbeats the member has sent: a clock that ticks only while it is in the group. */
  get heartbeats(): number {
    return this.member.heartbeatsSent
  }

  protected override createTransport(cluster: Cluster, groupId: string, rebalanceTimeoutMs: number): ClosableGroupTransport {
    return new FaultyTransport(cluster, groupId, rebalanceTimeoutMs)
  }

  /** Dies: no commit, no LeaveGroup, no fetch; the coordinator notices only after the session timeout. */
  async crash(): Promise<void> {
    this.dead = true
    await this.transport.crash()
    await this.consumer.close()
  }

  stall(): void {
    this.transport.stall()
  }

  unstall(): void {
    this.transport.unstall()
  }
}

/** Waits until `check` holds: re-checked on every poke() and every 20 ms, failing after `ms`. */
export class Condition {
  private pending = new Set<() => void>()

  poke(): void {
    for (const p of [...this.pending]) p()
  }

  until(check: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    if (check()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const done = (error?: Error): void => {
        clearTimeout(timer)
        clearInterval(ticker)
        this.pending.delete(test)
        if (error === undefined) resolve()
        else reject(error)
      }
      const test = (): void => {
        if (check()) done()
      }
      const timer = setTimeout(() => done(new Error(`${what}: not within ${ms} ms`)), ms)
      const ticker = setInterval(test, 20)
      this.pending.add(test)
    })
  }
}

/** Writes `perPartition` records to each partition, values `p<partition>-<n>`; resolves when all are acknowledged. */
export async function produce(bootstrap: readonly string[], topic: string, partitions: number, perPartition: number, from = 0): Promise<void> {
  const producer = new Producer({ bootstrapServers: bootstrap, lingerMs: 1 })
  try {
    const sends: Promise<unknown>[] = []
    for (let n = from; n < from + perPartition; n++) {
      for (let p = 0; p < partitions; p++) sends.push(producer.send({ topic, partition: p, key: `k${n % 7}`, value: `p${p}-${n}` }))
    }
    await Promise.all(sends)
  } finally {
    await producer.close()
  }
}
