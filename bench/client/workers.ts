/**
 * One measurement of one client, run in a child process under the Node chosen for the run: the
 * child's records/s and its own peak RSS. Every client gets the same workload: `count` records of
 * `size` bytes spread round-robin over `partitions`, acks=all, idempotent where the client has it,
 * no compression, a bounded window of sends outstanding; consumers read the same pre-filled topic
 * from the earliest offset.
 */
import { readFileSync } from 'node:fs'
import { CompressionTypes, Kafka, logLevel } from 'kafkajs'
import { Consumer } from '../../src/client/consumer/consumer.js'
import { Producer } from '../../src/client/producer/producer.js'
import { confluentConsume, confluentProduce, confluentUnavailable, loadConfluent } from './confluent.js'
import { loadPlatformatic, platformaticConsume, platformaticProduce, platformaticUnavailable } from './platformatic.js'

export type ClientName = 'baton' | 'kafkajs' | 'confluent' | 'platformatic'
export type Operation = 'produce' | 'consume'

export interface Job {
  client: ClientName
  op: Operation
  bootstrap: string[]
  topic: string
  count: number
  size: number
  partitions: number
  /** baton's producer API: sendBatch() calls like the peers' batch calls (the default), or a send() per record. */
  api?: 'send' | 'sendBatch'
  /** The broker is librdkafka's mock cluster, which @platformatic/kafka's producer needs told (see platformatic.ts). */
  mockCluster?: boolean
}

export interface WorkerResult {
  recordsPerSecond: number
  maxRssMiB: number
  /** CPU time (user + system) of the client's process per record, in microseconds: less sensitive to a busy machine than records/s. */
  cpuMicrosPerRecord: number
}

/** Records outstanding at once: an application streaming records, not one giant batch. */
const WINDOW = 10_000
/** Per partition, baton's batchSize and the peers' equivalent batches. */
const BATCH_BYTES = 256 * 1024

/** Records per batch call (baton's sendBatch, KafkaJS's sendBatch, @platformatic/kafka's send): about a batch's bytes per partition. */
export function recordsPerCall(job: Job): number {
  return Math.max(1, Math.floor((BATCH_BYTES * Math.min(job.partitions, 4)) / (job.size + 30)))
}

async function batonProduce(job: Job): Promise<void> {
  const producer = new Producer({ bootstrapServers: job.bootstrap, lingerMs: 5, batchSize: BATCH_BYTES, maxRequestSize: 8 * 1024 * 1024 })
  const value = Buffer.alloc(job.size, 120)
  for (let sent = 0; sent < job.count; sent += WINDOW) {
    const n = Math.min(WINDOW, job.count - sent)
    if (job.api === 'send') {
      // A send() per record, each with its own promise, batched by linger.
      const pending = new Array<Promise<unknown>>(n)
      for (let i = 0; i < n; i++) pending[i] = producer.send({ topic: job.topic, partition: (sent + i) % job.partitions, value })
      await Promise.all(pending)
      continue
    }
    // The same calls as the peers' batch APIs get: a window's calls concurrent.
    const perCall = recordsPerCall(job)
    const calls: Array<Promise<unknown>> = []
    for (let offset = 0; offset < n; offset += perCall) {
      const m = Math.min(perCall, n - offset)
      const records = new Array<{ topic: string; partition: number; value: Buffer }>(m)
      for (let i = 0; i < m; i++) records[i] = { topic: job.topic, partition: (sent + offset + i) % job.partitions, value }
      calls.push(producer.sendBatch(records))
    }
    await Promise.all(calls)
  }
  await producer.close()
}

async function kafkajsProduce(job: Job): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench', brokers: job.bootstrap, logLevel: logLevel.NOTHING })
  // KafkaJS allows one request in flight when idempotent; its default (not idempotent) is its fastest.
  const producer = kafka.producer()
  await producer.connect()
  const value = Buffer.alloc(job.size, 120)
  // One sendBatch call carries about a batch's bytes per partition; a window's calls run concurrently.
  const perCall = recordsPerCall(job)
  for (let sent = 0; sent < job.count; sent += WINDOW) {
    const n = Math.min(WINDOW, job.count - sent)
    const calls: Array<Promise<unknown>> = []
    for (let offset = 0; offset < n; offset += perCall) {
      const m = Math.min(perCall, n - offset)
      const messages = Array.from({ length: m }, (_, i) => ({ value, partition: (sent + offset + i) % job.partitions }))
      calls.push(producer.sendBatch({ compression: CompressionTypes.None, topicMessages: [{ topic: job.topic, messages }] }))
    }
    await Promise.all(calls)
  }
  await producer.disconnect()
}

async function batonConsume(job: Job): Promise<void> {
  const consumer = new Consumer({ bootstrapServers: job.bootstrap, autoOffsetReset: 'earliest' })
  await consumer.assign(Array.from({ length: job.partitions }, (_, partition) => ({ topic: job.topic, partition })))
  let seen = 0
  for await (const batch of consumer.batches()) {
    seen += batch.records.length
    if (seen >= job.count) break
  }
  await consumer.close()
}

async function kafkajsConsume(job: Job): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench', brokers: job.bootstrap, logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: `bench-${process.pid}`, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic: job.topic, fromBeginning: true })
  let seen = 0
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          seen += batch.messages.length
          if (seen >= job.count) resolve()
          await Promise.resolve()
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
}

/** Which peers cannot run on this process's Node, and why. */
export function unavailablePeers(): Partial<Record<ClientName, string>> {
  const reasons: Partial<Record<ClientName, string>> = {}
  const confluent = confluentUnavailable()
  if (confluent !== null) reasons.confluent = confluent
  const platformatic = platformaticUnavailable()
  if (platformatic !== null) reasons.platformatic = platformatic
  return reasons
}

/**
 * This process's own peak RSS. getrusage's maxRSS is no good here: Linux carries the parent's peak
 * across fork and exec, so every child would report the benchmark process (and its broker).
 */
function peakRssMiB(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
  return match === null ? process.memoryUsage().rss / 1024 / 1024 : Number(match[1]) / 1024
}

export async function runJob(job: Job): Promise<WorkerResult> {
  // Libraries are loaded before the clock starts.
  const platformatic = job.client === 'platformatic' ? await loadPlatformatic() : null
  const confluent = job.client === 'confluent' ? loadConfluent() : null
  const start = performance.now()
  const cpuAtStart = process.cpuUsage()
  const produce = job.op === 'produce'
  switch (job.client) {
    case 'baton':
      await (produce ? batonProduce(job) : batonConsume(job))
      break
    case 'kafkajs':
      await (produce ? kafkajsProduce(job) : kafkajsConsume(job))
      break
    case 'confluent':
      await (produce ? confluentProduce(confluent!, job.bootstrap, job.topic, job.count, job.size, job.partitions) : confluentConsume(confluent!, job.bootstrap, job.topic, job.count, job.partitions))
      break
    case 'platformatic':
      await (produce ? platformaticProduce(platformatic!, job.bootstrap, job.topic, job.count, job.size, job.partitions, WINDOW, recordsPerCall(job), job.mockCluster === true) : platformaticConsume(platformatic!, job.bootstrap, job.topic, job.count))
      break
  }
  const seconds = (performance.now() - start) / 1000
  const cpu = process.cpuUsage(cpuAtStart)
  return { recordsPerSecond: job.count / seconds, maxRssMiB: peakRssMiB(), cpuMicrosPerRecord: (cpu.user + cpu.system) / job.count }
}
