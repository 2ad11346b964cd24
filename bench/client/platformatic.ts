/**
 * @platformatic/kafka (pure JavaScript) as a benchmark peer. It is no dependency of baton and needs
 * Node 22 or later, so it lives in the conformance suite's own node_modules (installed with the
 * rest of that folder's packages); when it is not there, or the running Node is older than it
 * needs, the benchmark leaves it out.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

// The few parts of the library the benchmark uses; its own types live in the conformance folder.
interface PlatformaticMessage {
  topic: string
  partition: number
  value: Buffer
}
interface PlatformaticProducer {
  send(options: { messages: PlatformaticMessage[] }): Promise<unknown>
  close(): Promise<void>
}
interface PlatformaticStream {
  on(event: 'data', listener: (message: unknown) => void): void
  on(event: 'error', listener: (error: Error) => void): void
  close(): Promise<void>
}
interface PlatformaticConsumer {
  consume(options: { topics: string[]; mode: 'earliest'; autocommit: boolean; maxWaitTime: number }): Promise<PlatformaticStream>
  close(force?: boolean): Promise<void>
}
export interface Platformatic {
  Producer: new (options: Record<string, unknown>) => PlatformaticProducer
  Consumer: new (options: Record<string, unknown>) => PlatformaticConsumer
}

const conformancePackage = fileURLToPath(new URL('../../conformance/package.json', import.meta.url))
const MIN_NODE_MAJOR = 22

/** Why the peer cannot run here, or null when it can. */
export function platformaticUnavailable(): string | null {
  const location = fileURLToPath(new URL('../../conformance/node_modules/@platformatic/kafka', import.meta.url))
  if (!existsSync(location)) return '@platformatic/kafka is not installed: run (cd conformance && npm ci)'
  if (Number(process.versions.node.split('.')[0]) < MIN_NODE_MAJOR) return `@platformatic/kafka needs Node ${MIN_NODE_MAJOR} or later: run the bench with --node 22 or --node 24`
  return null
}

export async function loadPlatformatic(): Promise<Platformatic> {
  const resolved = createRequire(conformancePackage).resolve('@platformatic/kafka')
  return (await import(resolved)) as Platformatic
}

/**
 * `mockCluster`: librdkafka's mock cluster refuses the producer's InitProducerId, so it produces
 * without idempotence there, and lets the topic auto-create (the embedded broker's are made up front).
 */
export async function platformaticProduce(kafka: Platformatic, bootstrap: string[], topic: string, count: number, size: number, partitions: number, window: number, perCall: number, mockCluster: boolean): Promise<void> {
  const producer = new kafka.Producer({ clientId: 'bench', bootstrapBrokers: bootstrap, idempotent: !mockCluster, acks: -1, autocreateTopics: mockCluster })
  const value = Buffer.alloc(size, 120)
  // One send() call is one Produce request per leader: calls of about 256 KiB per partition (baton's
  // batchSize here), a window's calls concurrent, as for KafkaJS and baton.
  for (let sent = 0; sent < count; sent += window) {
    const n = Math.min(window, count - sent)
    const calls: Array<Promise<unknown>> = []
    for (let offset = 0; offset < n; offset += perCall) {
      const m = Math.min(perCall, n - offset)
      const messages = new Array<PlatformaticMessage>(m)
      for (let i = 0; i < m; i++) messages[i] = { topic, partition: (sent + offset + i) % partitions, value }
      calls.push(producer.send({ messages }))
    }
    await Promise.all(calls)
  }
  await producer.close()
}

export async function platformaticConsume(kafka: Platformatic, bootstrap: string[], topic: string, count: number): Promise<void> {
  const consumer = new kafka.Consumer({ clientId: 'bench', groupId: `bench-${process.pid}`, bootstrapBrokers: bootstrap })
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 100 })
  let seen = 0
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject)
    stream.on('data', () => {
      if (++seen === count) resolve()
    })
  })
  await stream.close()
  await consumer.close(true)
}
