/**
 * Produce and fetch throughput of one embedded broker node, with KafkaJS 2.2.4 as the load
 * generator: 100-byte values with 10-byte keys, uncompressed, acks=1, 6 partitions.
 *
 * KafkaJS spends more CPU encoding a request than the broker spends appending it, so the broker
 * runs in its own process rather than sharing a thread with its load generator; on machines with
 * spare cores, --producers N starts N producer processes together. Each producer keeps twelve sends
 * of 1 000 records in flight.
 * Fetch: one KafkaJS consumer reads every record back from the beginning (eachBatch, counting),
 * timed from its first batch. The target for a single node on this machine is 100 000 records/s
 * each way.
 *
 *   npx tsx bench/broker.ts [records] [--producers N] [--data]
 *   (default 600 000 records, 1 producer process, in-memory storage; --data uses segment files)
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel, Partitioners, type Message } from 'kafkajs'
import { startBroker } from '../src/broker/index.js'

const args = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const at = args.indexOf(name)
  return at >= 0 ? args[at + 1] : undefined
}
const TOTAL = Number(args.find((a) => /^\d+$/.test(a)) ?? 600_000)
const PRODUCERS = Number(flag('--producers') ?? 1)
const ON_DISK = args.includes('--data')
const PARTITIONS = 6
const PER_SEND = 1_000
const IN_FLIGHT = 12
const VALUE = Buffer.alloc(100, 'v')
const TOPIC = 'bench'
const SELF = fileURLToPath(import.meta.url)

function report(phase: string, records: number, ms: number): void {
  const perSecond = (records / ms) * 1000
  const mbPerSecond = ((records * VALUE.length) / ms) * 1000 / (1024 * 1024)
  console.log(`${phase.padEnd(8)} ${records} records in ${ms.toFixed(0)} ms: ${Math.round(perSecond).toLocaleString('en')} records/s, ${mbPerSecond.toFixed(1)} MB/s of values`)
}

function kafkaAt(bootstrap: string): Kafka {
  return new Kafka({ clientId: 'bench', brokers: [bootstrap], logLevel: logLevel.NOTHING })
}

/** A child that prints one line per step; resolves lines in order. */
function child(args: string[]): { process: ChildProcessByStdio<Writable, Readable, null>; nextLine: () => Promise<string> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', SELF, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]()
  return {
    process: proc,
    nextLine: async () => {
      const next = await lines.next()
      if (next.done === true) throw new Error(`bench child ${args.join(' ')} exited early`)
      return next.value
    },
  }
}

/** Broker process: prints its bootstrap address, stops when stdin closes. */
async function serve(): Promise<void> {
  const dataDir = ON_DISK ? mkdtempSync(join(tmpdir(), 'baton-bench-')) : undefined
  const broker = await startBroker({ dataDir, autoCreateTopics: false })
  broker.createTopic(TOPIC, { partitions: PARTITIONS })
  console.log(broker.bootstrap[0])
  // Each line on stdin asks for the CPU time used so far, so the parent can report throughput per
  // broker CPU-second: a figure that holds on a busy machine where wall-clock rates do not.
  createInterface({ input: process.stdin }).on('line', () => {
    const { user, system } = process.cpuUsage()
    console.log(String(user + system))
  })
  process.stdin.once('end', () => {
    void broker.stop().then(() => {
      if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
    })
  })
}

/** Producer process: connects, says "ready", waits for "go", sends its share, says "done". */
async function producerProcess(bootstrap: string, count: number, first: number): Promise<void> {
  const producer = kafkaAt(bootstrap).producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  await producer.connect()
  await producer.send({ topic: TOPIC, acks: 1, messages: [{ key: 'warm-up', value: VALUE }] })
  console.log('ready')
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()))
  const batch = (from: number): Message[] => Array.from({ length: PER_SEND }, (_, i) => ({ key: `k${first + from + i}`.padEnd(10, '-').slice(0, 10), value: VALUE }))
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const from = next
      next += PER_SEND
      await producer.send({ topic: TOPIC, acks: 1, messages: batch(from) })
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  console.log('done')
  await producer.disconnect()
}

async function consume(bootstrap: string, expected: number): Promise<void> {
  const consumer = kafkaAt(bootstrap).consumer({ groupId: `bench-${Date.now()}`, maxBytesPerPartition: 4 << 20, maxBytes: 16 << 20, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
  let seen = 0
  let started = 0
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (started === 0) started = performance.now()
          seen += batch.messages.length
          if (seen >= expected) resolve()
          await Promise.resolve()
        },
      })
      .catch(reject)
  })
  report('fetch', seen, performance.now() - started)
  await consumer.disconnect()
}

async function main(): Promise<void> {
  const broker = child(['--serve', ...(ON_DISK ? ['--data'] : [])])
  const producers: ReturnType<typeof child>[] = []
  try {
    const bootstrap = await broker.nextLine()
    const share = Math.ceil(TOTAL / PRODUCERS / PER_SEND) * PER_SEND
    for (let i = 0; i < PRODUCERS; i++) producers.push(child(['--produce', bootstrap, String(share), String(i * share)]))
    await Promise.all(producers.map((p) => p.nextLine()))
    console.log(`embedded broker (own process), 1 node, ${ON_DISK ? 'segment files' : 'memory'}; ${PRODUCERS} KafkaJS 2.2.4 producer processes; ${share * PRODUCERS} records of ${VALUE.length} bytes`)
    const brokerCpu = async (): Promise<number> => {
      broker.process.stdin.write('cpu\n')
      return Number(await broker.nextLine()) / 1000
    }
    const cpuBefore = await brokerCpu()
    const started = performance.now()
    for (const p of producers) p.process.stdin.write('go\n')
    await Promise.all(producers.map((p) => p.nextLine()))
    const produceMs = performance.now() - started
    const cpuProduce = (await brokerCpu()) - cpuBefore
    report('produce', share * PRODUCERS, produceMs)
    // The warm-up record of each producer is in the topic too.
    await consume(bootstrap, share * PRODUCERS + PRODUCERS)
    const cpuFetch = (await brokerCpu()) - cpuBefore - cpuProduce
    const perCpuSecond = (records: number, ms: number): string => `${Math.round((records / ms) * 1000).toLocaleString('en')} records per broker CPU-second`
    console.log(`broker CPU: produce ${cpuProduce.toFixed(0)} ms (${perCpuSecond(share * PRODUCERS, cpuProduce)}), consume ${cpuFetch.toFixed(0)} ms (${perCpuSecond(share * PRODUCERS, cpuFetch)}, group join included)`)
  } finally {
    for (const p of producers) p.process.stdin.end()
    broker.process.stdin.end()
  }
}

if (args[0] === '--serve') await serve()
else if (args[0] === '--produce') await producerProcess(args[1]!, Number(args[2]), Number(args[3]))
else await main()
