/**
 * Produce and consume throughput of baton's client against KafkaJS and, when the conformance
 * suite has installed it, @confluentinc/kafka-javascript, all talking to the embedded broker in the
 * same run, for 100-byte and 1 KiB records. Prints records/s, each peer's ratio to baton, and each
 * client's peak RSS.
 *
 *   npm run bench:client            (or: npx tsx bench/client.ts [--records N])
 *
 * The broker runs in this process; each client run is a child process, so the RSS reported is the
 * client's own (with its runtime), not the broker's.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { CompressionTypes, Kafka, logLevel } from 'kafkajs'
import { startBroker } from '../src/broker/index.js'
import { Consumer } from '../src/client/consumer/consumer.js'
import { Producer } from '../src/client/producer/producer.js'
import { confluentConsume, confluentProduce, loadConfluent } from './peers/confluent.js'

type ClientName = 'baton' | 'kafkajs' | 'confluent'
type Operation = 'produce' | 'consume'

interface WorkerResult {
  recordsPerSecond: number
  maxRssMiB: number
}

const WINDOW = 10_000

async function batonProduce(bootstrap: string[], topic: string, count: number, size: number): Promise<void> {
  const producer = new Producer({ bootstrapServers: bootstrap, lingerMs: 5, batchSize: 256 * 1024, maxRequestSize: 8 * 1024 * 1024 })
  const value = Buffer.alloc(size, 120)
  // Keep a bounded window of sends outstanding, as an application streaming records would.
  for (let sent = 0; sent < count; sent += WINDOW) {
    const n = Math.min(WINDOW, count - sent)
    const pending = new Array<Promise<unknown>>(n)
    for (let i = 0; i < n; i++) pending[i] = producer.send({ topic, partition: (sent + i) % 4, value })
    await Promise.all(pending)
  }
  await producer.close()
}

async function kafkajsProduce(bootstrap: string[], topic: string, count: number, size: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench', brokers: bootstrap, logLevel: logLevel.NOTHING })
  const producer = kafka.producer()
  await producer.connect()
  const value = Buffer.alloc(size, 120)
  // Per partition, batches of about 256 KiB (baton's batchSize here); one sendBatch call carries one
  // batch per partition, and a window's calls run concurrently.
  const perBatch = Math.max(1, Math.floor((256 * 1024) / (size + 30)))
  for (let sent = 0; sent < count; sent += WINDOW) {
    const n = Math.min(WINDOW, count - sent)
    const perPartition = Math.ceil(n / 4)
    const calls: Array<Promise<unknown>> = []
    for (let offset = 0; offset < perPartition; offset += perBatch) {
      const m = Math.min(perBatch, perPartition - offset)
      calls.push(
        producer.sendBatch({
          compression: CompressionTypes.None,
          topicMessages: [0, 1, 2, 3].map((partition) => ({ topic, messages: Array.from({ length: m }, () => ({ value, partition })) })),
        }),
      )
    }
    await Promise.all(calls)
  }
  await producer.disconnect()
}

async function batonConsume(bootstrap: string[], topic: string, count: number): Promise<void> {
  const consumer = new Consumer({ bootstrapServers: bootstrap, autoOffsetReset: 'earliest' })
  await consumer.assign([0, 1, 2, 3].map((partition) => ({ topic, partition })))
  let seen = 0
  for await (const batch of consumer.batches()) {
    seen += batch.records.length
    if (seen >= count) break
  }
  await consumer.close()
}

async function kafkajsConsume(bootstrap: string[], topic: string, count: number): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench', brokers: bootstrap, logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: `bench-${process.pid}`, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let seen = 0
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          seen += batch.messages.length
          if (seen >= count) resolve()
          await Promise.resolve()
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
}

async function worker(client: ClientName, op: Operation, bootstrap: string[], topic: string, count: number, size: number): Promise<WorkerResult> {
  const start = performance.now()
  if (client === 'baton') await (op === 'produce' ? batonProduce(bootstrap, topic, count, size) : batonConsume(bootstrap, topic, count))
  else if (client === 'kafkajs') await (op === 'produce' ? kafkajsProduce(bootstrap, topic, count, size) : kafkajsConsume(bootstrap, topic, count))
  else {
    const confluent = loadConfluent()
    if (confluent === null) throw new Error('@confluentinc/kafka-javascript is not installed: run npm run test:conformance once')
    await (op === 'produce' ? confluentProduce(confluent, bootstrap, topic, count, size) : confluentConsume(confluent, bootstrap, topic, count))
  }
  const seconds = (performance.now() - start) / 1000
  return { recordsPerSecond: count / seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 }
}

/** Runs one measurement in a child process; asynchronously, because the broker lives in this one. */
async function runChild(client: ClientName, op: Operation, bootstrap: string[], topic: string, count: number, size: number): Promise<WorkerResult> {
  const script = fileURLToPath(import.meta.url)
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, '--worker', client, op, bootstrap.join(','), topic, String(count), String(size)], {
    encoding: 'utf8',
    maxBuffer: 1024 * 1024,
  })
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as WorkerResult
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  if (args[0] === '--worker') {
    const [, client, op, bootstrap, topic, count, size] = args
    const result = await worker(client as ClientName, op as Operation, bootstrap!.split(','), topic!, Number(count), Number(size))
    process.stdout.write(`${JSON.stringify(result)}\n`)
    return
  }
  const recordsFlag = args.indexOf('--records')
  const scale = recordsFlag >= 0 ? Number(args[recordsFlag + 1]) : 200_000
  const clients: ClientName[] = loadConfluent() === null ? ['baton', 'kafkajs'] : ['baton', 'kafkajs', 'confluent']
  const broker = await startBroker({ nodes: 1, port: 0, memory: true })
  try {
    console.log(`baton client benchmark: embedded broker, 1 node, 4 partitions, acks=all, no compression`)
    console.log(`${'size'.padEnd(6)} ${'operation'.padEnd(9)} ${'client'.padEnd(8)} ${'records/s'.padStart(11)} ${'ratio'.padStart(7)} ${'peak RSS'.padStart(10)}`)
    for (const size of [100, 1024]) {
      const count = size === 100 ? scale : Math.floor(scale / 4)
      const results: Array<[Operation, ClientName, WorkerResult]> = []
      for (const client of clients) {
        const topic = `bench-${client}-${size}`
        broker.createTopic(topic, { partitions: 4 })
        results.push(['produce', client, await runChild(client, 'produce', broker.bootstrap, topic, count, size)])
        results.push(['consume', client, await runChild(client, 'consume', broker.bootstrap, topic, count, size)])
      }
      for (const op of ['produce', 'consume'] as const) {
        const baton = results.find(([o, c]) => o === op && c === 'baton')![2]
        for (const [o, client, r] of results) {
          if (o !== op) continue
          const ratio = r.recordsPerSecond / baton.recordsPerSecond
          console.log(
            `${`${size}B`.padEnd(6)} ${op.padEnd(9)} ${client.padEnd(8)} ${Math.round(r.recordsPerSecond).toLocaleString('en-US').padStart(11)} ${ratio.toFixed(2).padStart(7)} ${`${r.maxRssMiB.toFixed(0)} MiB`.padStart(10)}`,
          )
        }
      }
    }
    console.log('ratio: records/s relative to baton (below 1.00 means slower than baton)')
    if (!clients.includes('confluent')) console.log('@confluentinc/kafka-javascript left out: run npm run test:conformance once to install it')
  } finally {
    await broker.stop()
  }
}

await main()
