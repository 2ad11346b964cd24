/**
 * @confluentinc/kafka-javascript (librdkafka) as a benchmark peer. It needs a native build and
 * Debian packages, so it lives in the conformance suite's own node_modules (`npm run
 * test:conformance` installs it); when it is not there, or was built for another Node, the
 * benchmark leaves it out and says why.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

// The few parts of the library the benchmark uses; its own types live in the conformance folder.
interface Message {
  partition: number
}
interface RdProducer {
  connect(options: object, cb: (err: Error | null) => void): void
  produce(topic: string, partition: number, value: Buffer, key: null, timestamp: number, cb: (err: unknown) => void): void
  disconnect(cb: () => void): void
}
interface RdConsumer {
  connect(options: object, cb: (err: Error | null) => void): void
  assign(assignments: { topic: string; partition: number; offset: number }[]): void
  consume(count: number, cb: (err: Error | null, messages: Message[]) => void): void
  disconnect(cb: () => void): void
}
interface RdKafka {
  HighLevelProducer: new (config: Record<string, unknown>) => RdProducer
  KafkaConsumer: new (config: Record<string, unknown>, topicConfig: Record<string, unknown>) => RdConsumer
}

const conformancePackage = fileURLToPath(new URL('../../conformance/package.json', import.meta.url))

/** Why the peer cannot run on this Node, or null when it can. */
export function confluentUnavailable(): string | null {
  const location = fileURLToPath(new URL('../../conformance/node_modules/@confluentinc/kafka-javascript', import.meta.url))
  if (!existsSync(location) && buildForThisNode() === null) return '@confluentinc/kafka-javascript is not installed: run npm run test:conformance once'
  try {
    loadConfluent()
    return null
  } catch (error) {
    // A native addon is built for one Node ABI; the conformance install builds it for the Node that ran npm.
    return `@confluentinc/kafka-javascript does not load on Node ${process.versions.node} (${(error as Error).message.split('\n')[0]}); its addon was built for another Node: run bash bench/client/build-confluent.sh ${process.versions.node.split('.')[0]}`
  }
}

/**
 * A build of the addon for another Node than the one that installed the conformance suite, if one
 * was made: `<node cache>/<major>/confluent/node_modules/@confluentinc/kafka-javascript`.
 */
function buildForThisNode(): string | null {
  const cache = process.env.BATON_NODE_CACHE ?? join(homedir(), '.cache', 'baton-node')
  const folder = join(cache, process.versions.node.split('.')[0]!, 'confluent')
  return existsSync(join(folder, 'node_modules', '@confluentinc', 'kafka-javascript', 'build', 'Release', 'confluent-kafka-javascript.node')) ? join(folder, 'package.json') : null
}

export function loadConfluent(): RdKafka {
  return createRequire(buildForThisNode() ?? conformancePackage)('@confluentinc/kafka-javascript') as RdKafka
}

export async function confluentProduce(kafka: RdKafka, bootstrap: string[], topic: string, count: number, size: number, partitions: number): Promise<void> {
  const producer = new kafka.HighLevelProducer({
    'bootstrap.servers': bootstrap.join(','),
    'linger.ms': 5,
    'batch.size': 256 * 1024,
    'queue.buffering.max.messages': 1_000_000,
    'enable.idempotence': true,
  })
  await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())))
  const value = Buffer.alloc(size, 120)
  await new Promise<void>((resolve, reject) => {
    let acknowledged = 0
    for (let i = 0; i < count; i++) {
      producer.produce(topic, i % partitions, value, null, Date.now(), (err) => {
        if (err) return reject(new Error(`delivery failed: ${JSON.stringify(err)}`))
        if (++acknowledged === count) resolve()
      })
    }
  })
  await new Promise<void>((resolve) => producer.disconnect(resolve))
}

export async function confluentConsume(kafka: RdKafka, bootstrap: string[], topic: string, count: number, partitions: number): Promise<void> {
  const consumer = new kafka.KafkaConsumer(
    { 'bootstrap.servers': bootstrap.join(','), 'group.id': `bench-${process.pid}`, 'enable.auto.commit': false },
    { 'auto.offset.reset': 'earliest' },
  )
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())))
  consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })))
  // Batches of up to 10 000 messages per call: the library's fastest read path, not its per-message events.
  let seen = 0
  while (seen < count) {
    // Ask for no more than remain: a call waits for its full count until the consume timeout.
    const wanted = Math.min(10_000, count - seen)
    seen += await new Promise<number>((resolve, reject) => consumer.consume(wanted, (err, messages) => (err ? reject(err) : resolve(messages.length))))
  }
  await new Promise<void>((resolve) => consumer.disconnect(resolve))
}
