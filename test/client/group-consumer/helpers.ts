/**
 * Shared by the group consumer tests: an embedded broker with short group timeouts, a consumer
 * whose coordinator traffic can be cut (crash) or held (stall), and a condition to wait on.
 */
import { after, before } from 'node:test'
import { startBroker, type EmbeddedBroker, type GroupCoordinatorOptions } from '../../../src/broker/index.js'
import { GroupConsumer, type ClosableGroupTransport, type GroupConsumerConfig, type GroupConsumerFaults } from '../../../src/client/consumer/group-consumer.js'
import { Producer } from '../../../src/client/producer/producer.js'
import { NetworkError } from '../../../src/net/errors.js'
import type { ApiSpec } from '../../../src/protocol/codec-runtime.js'
import { ConsumerGroupHeartbeat, Heartbeat } from '../../../src/protocol/generated/index.js'

export const SESSION_TIMEOUT_MS = 1_500
export const HEARTBEAT_MS = 100
export const REBALANCE_TIMEOUT_MS = 5_000
export const WAIT_MS = 15_000

/** @param groups more group coordinator options over the quick timings. */
export function startTestBroker(nodes = 1, groups: GroupCoordinatorOptions = {}): Promise<EmbeddedBroker> {
  return startBroker({
    nodes,
    memory: true,
    autoCreateTopics: false,
    groups: { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 500, consumerSessionTimeoutMs: SESSION_TIMEOUT_MS, consumerHeartbeatIntervalMs: HEARTBEAT_MS, ...groups },
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

/** The timings as `baton({ kafka })` takes them: the rebalance timeout is `baton()`'s own option. */
export function kafkaTimings(): Omit<ReturnType<typeof groupTimings>, 'rebalanceTimeoutMs'> {
  const { rebalanceTimeoutMs: _onBaton, ...rest } = groupTimings()
  return rest
}

/**
 * The real coordinator connection, until stall(): then requests go unanswered until unstall(), as
 * on a network that drops packets with a request timeout longer than the session; the member must
 * notice its session is gone meanwhile. It also counts the heartbeats sent.
 */
export class FaultyTransport implements ClosableGroupTransport {
  heartbeats = 0
  private stalled: Array<() => void> | undefined

  constructor(private readonly inner: ClosableGroupTransport) {}

  stall(): void {
    this.stalled ??= []
  }

  /** Ends the stall: the held requests fail as if the network had dropped them. */
  unstall(): void {
    const held = this.stalled ?? []
    this.stalled = undefined
    for (const release of held) release()
  }

  async send<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, body: (version: number) => ReqInit): Promise<Res> {
    const stalled = this.stalled
    if (stalled !== undefined) {
      await new Promise<void>((resolve) => stalled.push(resolve))
      throw new NetworkError('NET_CONNECTION_LOST', { broker: 'stalled', api: api.name }, 'the test held this request and dropped it')
    }
    if (api.apiKey === Heartbeat.apiKey || api.apiKey === ConsumerGroupHeartbeat.apiKey) this.heartbeats++
    return this.inner.send(api, body)
  }

  coordinatorLost(): void {
    this.inner.coordinatorLost()
  }

  close(): Promise<void> {
    return this.inner.close()
  }
}

/**
 * Fault switches for one group consumer, passed as its `faults` option: crash() kills it (its
 * sockets close and nothing more reaches the broker), stall() holds its coordinator traffic.
 */
export class ConsumerFaults {
  private readonly killSwitch = new AbortController()
  private transport: FaultyTransport | undefined
  readonly options: GroupConsumerFaults = {
    crash: this.killSwitch.signal,
    groupTransport: (inner) => (this.transport = new FaultyTransport(inner)),
  }

  get dead(): boolean {
    return this.killSwitch.signal.aborted
  }

  /** Heartbeats sent so far, a clock that ticks only while the member is in the group. */
  get heartbeats(): number {
    return this.transport?.heartbeats ?? 0
  }

  /** Dies: no commit, no LeaveGroup, no fetch; the coordinator notices only after the session timeout. */
  crash(): void {
    this.killSwitch.abort()
    this.transport?.unstall()
  }

  stall(): void {
    this.transport?.stall()
  }

  unstall(): void {
    this.transport?.unstall()
  }
}

/** A group consumer with its fault switches at hand. */
export class FaultyGroupConsumer extends GroupConsumer {
  readonly faults: ConsumerFaults

  constructor(config: GroupConsumerConfig) {
    const faults = new ConsumerFaults()
    super({ ...config, faults: faults.options })
    this.faults = faults
  }

  get dead(): boolean {
    return this.faults.dead
  }

  get heartbeats(): number {
    return this.faults.heartbeats
  }

  crash(): void {
    this.faults.crash()
  }

  stall(): void {
    this.faults.stall()
  }

  unstall(): void {
    this.faults.unstall()
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

/**
 * For a `describe` body whose tests each read a topic of their own: one broker (startTestBroker)
 * started before the tests, and `topic(name, …)` creates a topic holding `perPartition` records per
 * partition and hands back what `open` builds on it; all of those are closed after the tests, then
 * the broker.
 */
export function brokerPerSuite<T>(
  open: (broker: EmbeddedBroker, topic: string) => T,
  close: (opened: T) => Promise<void>,
): { broker: () => EmbeddedBroker; topic: (name: string, partitions: number, perPartition: number) => Promise<T> } {
  let started: EmbeddedBroker | undefined
  const opened: T[] = []
  before(async () => {
    started = await startTestBroker()
  })
  after(async () => {
    await Promise.all(opened.map(close))
    await started?.stop()
  })
  const broker = (): EmbeddedBroker => {
    if (started === undefined) throw new Error('the suite broker is used before its before() hook ran')
    return started
  }
  return {
    broker,
    topic: async (name, partitions, perPartition) => {
      broker().createTopic(name, { partitions })
      await produce(broker().bootstrap, name, partitions, perPartition)
      const made = open(broker(), name)
      opened.push(made)
      return made
    },
  }
}
