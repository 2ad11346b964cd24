/**
 * What the processing framework costs: records/s through `baton()` with a no-op handler versus
 * baton's bare GroupConsumer awaiting the same no-op handler for each record, in one run. The
 * target is a framework cost below 10 % of the bare consumer's throughput.
 *
 * The broker runs in a child process so that it does not share a thread with the consumers it
 * serves. Both readers start from the beginning of a topic already full (6 partitions, 100-byte
 * values), each in a group of its own, and are timed from their first record to their last. A
 * single run of either swings by tens of percent on a shared machine, so the two alternate over
 * several rounds of a million records each; the cost is the median of the rounds' ratios (each
 * round's two runs see the machine in the same state), with best-against-best, median-against-
 * median and CPU time per record of the consuming process beside it.
 *
 *   npx tsx bench/processing.ts [records] [--rounds N]   (default 1 000 000 records, 9 rounds)
 */
import { spawn } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startBroker } from '../src/broker/index.js'
import type { ConsumerRecord } from '../src/client/consumer/consumer.js'
import { GroupConsumer } from '../src/client/consumer/group-consumer.js'
import { Producer } from '../src/client/producer/producer.js'
import { baton } from '../src/processing/app.js'
import { silentLogger } from '../src/processing/logger.js'

const TOPIC = 'bench-processing'
const PARTITIONS = 6
const args = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string', default: '9' }, broker: { type: 'boolean', default: false } } })
const TOTAL = Number(args.positionals[0] ?? 1_000_000)
const ROUNDS = Number(args.values.rounds)
const SELF = fileURLToPath(import.meta.url)

async function main(): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--broker'], { stdio: ['pipe', 'pipe', 'inherit'] })
  const first = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next()
  const bootstrap = JSON.parse(String(first.value)) as string[]
  try {
    await fill(bootstrap)
    const counting = await bareConsumer(bootstrap, 'bench-bare-count', false)
    const bare: Run[] = []
    const framework: Run[] = []
    console.log(`records: ${TOTAL} (${PARTITIONS} partitions, 100-byte values), ${ROUNDS} rounds`)
    console.log(`bare GroupConsumer, counting batches only: ${rate(counting.recordsPerSecond)}`)
    console.log('round  bare (no-op per record)          baton() (no-op handler)')
    for (let round = 1; round <= ROUNDS; round++) {
      // Which one goes first alternates, so that a drift of the machine's speed favours neither.
      if (round % 2 === 1) bare.push(await bareConsumer(bootstrap, `bench-bare-${round}`, true))
      framework.push(await frameworkRun(bootstrap, `bench-framework-${round}`))
      if (round % 2 === 0) bare.push(await bareConsumer(bootstrap, `bench-bare-${round}`, true))
      console.log(`${String(round).padStart(5)}  ${describe(bare.at(-1) as Run)}   ${describe(framework.at(-1) as Run)}`)
    }
    const bareRate = median(bare.map((r) => r.recordsPerSecond))
    const frameworkRate = median(framework.map((r) => r.recordsPerSecond))
    const bareCpu = median(bare.map((r) => r.cpuMicrosPerRecord))
    const frameworkCpu = median(framework.map((r) => r.cpuMicrosPerRecord))
    console.log(`median  ${rate(bareRate)} ${bareCpu.toFixed(2)} µs CPU/record   ${rate(frameworkRate)} ${frameworkCpu.toFixed(2)} µs CPU/record`)
    // Each round's two runs share the machine's state of the moment, so their ratio is the estimate
    // least moved by other load; the best run of each side is the one least slowed by it.
    const paired = median(framework.map((f, i) => f.recordsPerSecond / (bare[i] as Run).recordsPerSecond))
    const best = Math.max(...framework.map((r) => r.recordsPerSecond)) / Math.max(...bare.map((r) => r.recordsPerSecond))
    const percent = (ratio: number): string => `${((1 - ratio) * 100).toFixed(1)} %`
    console.log(`framework cost: ${percent(paired)} of the bare consumer's throughput, median of the rounds' ratios (target < 10 %)`)
    console.log(`                ${percent(best)} best run against best run; ${percent(frameworkRate / bareRate)} median against median; ${percent(bareCpu / frameworkCpu)} in CPU per record`)
  } finally {
    child.stdin.end()
  }
}

interface Run {
  readonly recordsPerSecond: number
  /** CPU time of this process (user + system) per record, from the first record to the last. */
  readonly cpuMicrosPerRecord: number
}

/** Times the span from the first record to the last in wall-clock and CPU time. */
class Stopwatch {
  private startedAt = 0
  private cpuAtStart: NodeJS.CpuUsage | undefined
  private run: Run | undefined

  start(): void {
    this.startedAt = performance.now()
    this.cpuAtStart = process.cpuUsage()
  }

  stop(): void {
    const cpu = process.cpuUsage(this.cpuAtStart)
    const seconds = (performance.now() - this.startedAt) / 1000
    this.run = { recordsPerSecond: TOTAL / seconds, cpuMicrosPerRecord: (cpu.user + cpu.system) / TOTAL }
  }

  get result(): Run {
    if (this.run === undefined) throw new Error('the stopwatch was never stopped')
    return this.run
  }
}

function rate(n: number): string {
  return `${Math.round(n).toLocaleString('en').padStart(10)} records/s`
}

function describe(run: Run): string {
  return `${rate(run.recordsPerSecond)} ${run.cpuMicrosPerRecord.toFixed(2)} µs CPU/record`
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
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

/** A GroupConsumer counting batches, or awaiting a no-op handler for each record in order. */
async function bareConsumer(bootstrap: string[], groupId: string, perRecord: boolean): Promise<Run> {
  const consumer = new GroupConsumer({ bootstrapServers: bootstrap, groupId, autoOffsetReset: 'earliest' })
  consumer.subscribe([TOPIC])
  const stopwatch = new Stopwatch()
  let seen = 0
  for await (const batch of consumer.batches()) {
    if (seen === 0) stopwatch.start()
    if (perRecord) for (const record of batch.records) await noop(record)
    seen += batch.records.length
    if (seen >= TOTAL) break
  }
  stopwatch.stop()
  await consumer.close()
  return stopwatch.result
}

/** baton() with a handler that does nothing. */
async function frameworkRun(bootstrap: string[], groupId: string): Promise<Run> {
  const stopwatch = new Stopwatch()
  let seen = 0
  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  const app = baton({ brokers: bootstrap, groupId, logger: silentLogger, signals: false })
  app.consume(
    TOPIC,
    () => {
      if (seen === 0) stopwatch.start()
      if (++seen === TOTAL) {
        stopwatch.stop()
        done()
      }
      return Promise.resolve()
    },
    { deadLetter: false },
  )
  await app.start()
  await finished
  await app.stop()
  return stopwatch.result
}

// Last, so that the classes above are initialised before the top-level await runs them.
if (args.values.broker) {
  const broker = await startBroker({ nodes: 1, memory: true, autoCreateTopics: false, groups: { initialRebalanceDelayMs: 0 } })
  broker.createTopic(TOPIC, { partitions: PARTITIONS })
  console.log(JSON.stringify(broker.bootstrap))
  // The parent closes stdin when it is done.
  process.stdin.resume()
  process.stdin.on('end', () => void broker.stop())
} else {
  await main()
}
