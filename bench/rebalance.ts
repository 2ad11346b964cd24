/**
 * Rebalance timings with baton's GroupConsumer against the embedded broker: 10 members, 60
 * partitions, records written to every partition all along.
 *
 * For each protocol (classic cooperative-sticky, classic eager range, and KIP-848 with the
 * coordinator's uniform assignor), in the same run: 9 members join and settle, then a 10th joins.
 * Reported:
 * - join to stable: from the 10th member's subscribe() until every member is stable in one
 *   generation (KIP-848: one member epoch) and the 10th owns its share (6 partitions);
 * - the longest pause of the partitions that did not move (same owner before and after): the
 *   largest gap between two deliveries of such a partition while the rebalance ran, next to the
 *   same measure over an equally long quiet stretch before it (the write interval sets the floor).
 *   Target: under cooperative-sticky, unaffected partitions do not stop at all.
 *
 *   npx tsx bench/rebalance.ts
 */
import { performance } from 'node:perf_hooks'
import { startBroker, type EmbeddedBroker } from '../src/broker/index.js'
import { GroupConsumer, type AssignorName } from '../src/client/consumer/group-consumer.js'
import { Producer } from '../src/client/producer/producer.js'

const MEMBERS = 10
const PARTITIONS = 60
const WRITE_EVERY_MS = 10
const SESSION_TIMEOUT_MS = 10_000
const HEARTBEAT_MS = 300

interface Member {
  consumer: GroupConsumer
  loop: Promise<void>
}

type Variant = AssignorName | 'kip848'

const broker = await startBroker({
  nodes: 1,
  memory: true,
  autoCreateTopics: false,
  groups: { initialRebalanceDelayMs: 0, consumerSessionTimeoutMs: SESSION_TIMEOUT_MS, consumerHeartbeatIntervalMs: HEARTBEAT_MS },
})
try {
  for (const variant of ['cooperative-sticky', 'range', 'kip848'] as const) await run(broker, variant)
} finally {
  await broker.stop()
}

async function run(broker: EmbeddedBroker, assignor: Variant): Promise<void> {
  const topic = `rebalance-${assignor}`
  broker.createTopic(topic, { partitions: PARTITIONS })
  /** Delivery times per partition. */
  const deliveries = new Map<number, number[]>()
  const owner = new Map<number, number>()
  const writer = startWriting(broker.bootstrap, topic)
  const members: Member[] = []
  const join = (index: number): Member => {
    const consumer = new GroupConsumer({
      bootstrapServers: broker.bootstrap,
      groupId: `${topic}-group`,
      clientId: `member-${index}`,
      ...(assignor === 'kip848' ? { groupProtocol: 'consumer' as const } : { assignors: [assignor], heartbeatIntervalMs: HEARTBEAT_MS }),
      autoOffsetReset: 'latest',
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      rebalanceTimeoutMs: 30_000,
      fetchMaxWaitMs: 20,
      hooks: {
        onAssign: (ps) => {
          for (const g of ps) for (const p of g.partitions) owner.set(p, index)
        },
      },
    })
    consumer.subscribe([topic])
    const loop = (async () => {
      for await (const batch of consumer.batches()) {
        const at = performance.now()
        let list = deliveries.get(batch.partition)
        if (list === undefined) deliveries.set(batch.partition, (list = []))
        list.push(at)
      }
    })()
    const member = { consumer, loop }
    members.push(member)
    return member
  }
  try {
    for (let i = 0; i < MEMBERS - 1; i++) join(i)
    await until(() => stable(members) && owner.size === PARTITIONS, 'the first 9 members settle')
    // A quiet stretch to compare against.
    const quietFrom = performance.now()
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    const before = new Map(owner)
    const joinedAt = performance.now()
    const tenth = join(MEMBERS - 1)
    await until(() => stable(members) && tenth.consumer.assignment().length === PARTITIONS / MEMBERS && sameGeneration(members), 'the 10th member settles')
    const stableAt = performance.now()
    // Let deliveries after the rebalance land, so a partition's gap across it is closed.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const unaffected = [...before].filter(([p, o]) => owner.get(p) === o).map(([p]) => p)
    const during = maxGap(deliveries, unaffected, joinedAt, stableAt)
    const quiet = maxGap(deliveries, unaffected, quietFrom, quietFrom + Math.max(stableAt - joinedAt, 500))
    console.log(
      `${assignor.padEnd(18)} join to stable: ${(stableAt - joinedAt).toFixed(0)} ms; ` +
        `${unaffected.length} of ${PARTITIONS} partitions kept their owner; their longest pause during the rebalance: ${during.toFixed(0)} ms ` +
        `(quiet baseline ${quiet.toFixed(0)} ms, writes every ${WRITE_EVERY_MS} ms)`,
    )
  } finally {
    await writer.stop()
    await Promise.all(members.map(async (m) => m.consumer.close()))
    await Promise.all(members.map((m) => m.loop))
  }
}

function stable(members: Member[]): boolean {
  return members.every((m) => m.consumer.state === 'stable')
}

function sameGeneration(members: Member[]): boolean {
  return new Set(members.map((m) => m.consumer.generationId)).size === 1
}

/** The longest time, across `partitions`, between two deliveries (or a window edge and a delivery) within [from, to]. */
function maxGap(deliveries: Map<number, number[]>, partitions: number[], from: number, to: number): number {
  let worst = 0
  for (const p of partitions) {
    const times = (deliveries.get(p) ?? []).filter((t) => t >= from && t <= to)
    const all = [...times]
    // The gap running into the window counts from the last delivery before it; the one out of it up to the next after it.
    const previous = (deliveries.get(p) ?? []).filter((t) => t < from).at(-1) ?? from
    const next = (deliveries.get(p) ?? []).find((t) => t > to) ?? to
    let last = previous
    for (const t of [...all, next]) {
      worst = Math.max(worst, t - last)
      last = t
    }
  }
  return worst
}

function startWriting(bootstrap: string[], topic: string): { stop(): Promise<void> } {
  const producer = new Producer({ bootstrapServers: bootstrap, lingerMs: 1 })
  let stopped = false
  const failures: unknown[] = []
  const timer = setInterval(() => {
    if (stopped) return
    for (let p = 0; p < PARTITIONS; p++) producer.send({ topic, partition: p, value: 'x' }).catch((error: unknown) => failures.push(error))
  }, WRITE_EVERY_MS)
  return {
    async stop() {
      stopped = true
      clearInterval(timer)
      await producer.close()
      if (failures.length > 0) console.log(`(${failures.length} writes failed)`)
    },
  }
}

/** Polls `check` every 10 ms, for a benchmark's own pacing; gives up after 60 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 60_000
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within 60 s`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
