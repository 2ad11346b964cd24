/**
 * librdkafka's transactional and idempotent producers (@confluentinc/kafka-javascript, from the
 * conformance suite's node_modules) as a peer for bench:transactions: records go out in groups of
 * `perGroup`, each group one transaction (or, idempotent, one produce-and-flush), as a
 * consume-transform-produce loop would send them.
 */
import { loadConfluent } from './confluent.js'

interface RdError {
  message: string
}
type Done = (err: RdError | null | undefined) => void
interface RdTxnProducer {
  connect(options: object, cb: (err: RdError | null) => void): void
  produce(topic: string, partition: number, value: Buffer): void
  flush(timeoutMs: number, cb: Done): void
  setPollInterval(ms: number): void
  initTransactions(timeoutMs: number, cb: Done): void
  beginTransaction(cb: Done): void
  commitTransaction(timeoutMs: number, cb: Done): void
  disconnect(cb: () => void): void
}
interface RdKafkaTxn {
  Producer: new (config: Record<string, unknown>) => RdTxnProducer
}

const TIMEOUT_MS = 60_000

function call(run: (cb: Done) => void, what: string): Promise<void> {
  return new Promise((resolve, reject) => run((err) => (err ? reject(new Error(`librdkafka ${what} failed: ${err.message}`)) : resolve())))
}

export function confluentAvailable(): boolean {
  return loadConfluent() !== null
}

/** Sends `count` records of `size` bytes in groups of `perGroup`, each a transaction when `transactionalId` is set. */
export async function confluentGroups(bootstrap: string[], topic: string, count: number, size: number, perGroup: number, transactionalId: string | null): Promise<void> {
  const kafka = loadConfluent() as unknown as RdKafkaTxn | null
  if (kafka === null) throw new Error('@confluentinc/kafka-javascript is not installed: run npm run test:conformance once')
  const producer = new kafka.Producer({
    'bootstrap.servers': bootstrap.join(','),
    'linger.ms': 5,
    'batch.size': 256 * 1024,
    'queue.buffering.max.messages': 1_000_000,
    'enable.idempotence': true,
    ...(transactionalId === null ? {} : { 'transactional.id': transactionalId }),
  })
  await call((cb) => producer.connect({}, (err) => cb(err)), 'connect')
  producer.setPollInterval(10)
  if (transactionalId !== null) await call((cb) => producer.initTransactions(TIMEOUT_MS, cb), 'initTransactions')
  const value = Buffer.alloc(size, 120)
  for (let sent = 0; sent < count; sent += perGroup) {
    const n = Math.min(perGroup, count - sent)
    if (transactionalId !== null) await call((cb) => producer.beginTransaction(cb), 'beginTransaction')
    for (let i = 0; i < n; i++) producer.produce(topic, (sent + i) % 4, value)
    // Commit flushes first, as flush does for the idempotent producer: the group is acknowledged.
    if (transactionalId !== null) await call((cb) => producer.commitTransaction(TIMEOUT_MS, cb), 'commitTransaction')
    else await call((cb) => producer.flush(TIMEOUT_MS, cb), 'flush')
  }
  await new Promise<void>((resolve) => producer.disconnect(resolve))
}
