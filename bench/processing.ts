/**
 * What the processing framework costs: records/s through `baton()` with a no-op handler versus
 * baton's bare GroupConsumer reading the same topic, in one run. The target is a framework cost
 * below 10 % of the bare consumer's throughput.
 *
 * The broker runs in a child process so that it does not share a thread with the consumers it
 * serves. Both readers start from the beginning of a topic already full (6 partitions, 100-byte
 * values), each in a group of its own, and are timed from their first record to their last.
 *
 *   npx tsx bench/processing.ts [records]   (default 300 000)
 */
import { spawn } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { startBroker } from '../src/broker/index.js'
import type { ConsumerRecord } from '../src/client/consumer/consumer.js'
import { GroupConsumer } from '../src/client/consumer/group-consumer.js'
import { Producer } from '../src/client/producer/producer.js'
import { baton } from '../src/processing/app.js'
import { silentLogger } from '../src/processing/logger.js'

const TOPIC = 'bench-processing'
const PARTITIONS = 6
const TOTAL = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 300_000)
const SELF = fileURLToPath(import.meta.url)

if (process.argv.includes('--broker')) {
  const broker = await startBroker({ nodes: 1, memory: true, autoCreateTopics: false, groups: { initialRebalanceDelayMs: 0 } })
  broker.createTopic(TOPIC, { partitions: PARTITIONS })
  console.log(JSON.stringify(broker.bootstrap))
  // The parent closes stdin when it is done.
  process.stdin.resume()
  process.stdin.on('end', () => void broker.stop())
} else {
  await main()
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--broker'], { stdio: ['pipe', 'pipe', 'inherit'] })
  const first = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next()
  const bootstrap = JSON.parse(String(first.value)) as string[]
  try {
    await fill(bootstrap)
    const counting = await bareConsumer(bootstrap, 'bench-bare-count', false)
    const bare = await bareConsumer(bootstrap, 'bench-bare', true)
    const framework = await frameworkRun(bootstrap)
    const rate = (n: number): string => `${Math.round(n).toLocaleString('en').padStart(10)} records/s`
    console.log(`records: ${TOTAL} (${PARTITIONS} partitions, 100-byte values)`)
    console.log(`bare GroupConsumer, counting batches only:        ${rate(counting)}`)
    console.log(`bare GroupConsumer, no-op handler awaited per record: ${rate(bare)}`)
    console.log(`baton() with a no-op handler:                     ${rate(framework)}`)
    console.log(`framework cost: ${((1 - framework / bare) * 100).toFixed(1)} % against the bare consumer calling the same handler (target < 10 %); ` +
      `${((1 - framework / counting) * 100).toFixed(1)} % against counting only`)
  } finally {
    child.stdin.end()
  }
}

async function fill(bootstrap: string[]): Promise<void> {
  const producer = new Producer({ bootstrapServers: bootstrap, lingerMs: 5, batchSize: 256 * 1024 })
  const value = Buffer.alloc(100, 'v')
  for (let sent = 0; sent < TOTAL; sent += 10_000) {
    const sends: Promise<unknown>[] = []
    for (let i = sent; i < Math.min(TOTAL, sent + 10_000); i++) sends.push(producer.send({ topic: TOPIC, partition: i % PARTITIONS, key: `k${i % 1000}`, value }))
    await Promise.all(sends)
  }
  await producer.close()
}

/** What a handler that does nothing costs: one promise per record. */
function noop(record: ConsumerRecord): Promise<void> {
  return record.offset < 0n ? Promise.reject(new Error('unreachable')) : Promise.resolve()
}

/** Records/s of a GroupConsumer, counting batches or awaiting a no-op handler for each record in order. */
async function bareConsumer(bootstrap: string[], groupId: string, perRecord: boolean): Promise<number> {
  const consumer = new GroupConsumer({ bootstrapServers: bootstrap, groupId, autoOffsetReset: 'earliest' })
  consumer.subscribe([TOPIC])
  let seen = 0
  let startedAt = 0
  for await (const batch of consumer.batches()) {
    if (seen === 0) startedAt = performance.now()
    if (perRecord) for (const record of batch.records) await noop(record)
    seen += batch.records.length
    if (seen >= TOTAL) break
  }
  const rate = TOTAL / ((performance.now() - startedAt) / 1000)
  await consumer.close()
  return rate
}

/** Records/s through baton() with a handler that does nothing. */
async function frameworkRun(bootstrap: string[]): Promise<number> {
  let seen = 0
  let startedAt = 0
  let finishedAt = 0
  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  const app = baton({ brokers: bootstrap, groupId: 'bench-framework', logger: silentLogger, signals: false })
  app.consume(
    TOPIC,
    () => {
      if (seen === 0) startedAt = performance.now()
      if (++seen === TOTAL) {
        finishedAt = performance.now()
        done()
      }
      return Promise.resolve()
    },
    { deadLetter: false },
  )
  await app.start()
  await finished
  await app.stop()
  return TOTAL / ((finishedAt - startedAt) / 1000)
}
