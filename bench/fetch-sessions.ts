/**
 * What incremental fetch sessions (KIP-227) buy a consumer of many partitions of which few are
 * busy: 1 000 partitions, records (100 B, one per batch of 50) in 4 of them, baton's consumer
 * assigned all 1 000 with 16 KiB per partition per fetch, so reading them takes many fetches.
 * Without sessions every fetch names 1 000 partitions both ways; with them, a request names the 4
 * that moved and the answer the 4 with records.
 *
 * Sessions off is the same broker with `fetchSessions: { cacheSlots: 0 }` (session id 0 in every
 * answer, how the broker behaved before), so the client sends full requests. Rounds alternate; the
 * broker runs in this process, as in the embedded use it is made for.
 *
 *   npx tsx bench/fetch-sessions.ts [--rounds 5] [--records 100000]
 */
import diagnostics from 'node:diagnostics_channel'
import { performance } from 'node:perf_hooks'
import { startBroker } from '../src/broker/index.js'
import { Consumer, Producer } from '../src/client/index.js'
import { REQUEST_CHANNEL, type RequestEvent } from '../src/net/diagnostics.js'
import { Fetch } from '../src/protocol/generated/index.js'

const args = process.argv.slice(2)
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`)
  return at >= 0 ? Number(args[at + 1]) : fallback
}
const ROUNDS = option('rounds', 5)
const RECORDS = option('records', 100_000)
const PARTITIONS = 1000
const BUSY = 4

interface Result {
  readonly recordsPerSecond: number
  readonly fetches: number
  readonly requestBytes: number
}

async function round(sessions: boolean): Promise<Result> {
  const broker = await startBroker({ memory: true, fetchSessions: sessions ? {} : { cacheSlots: 0 } })
  broker.createTopic('bench', { partitions: PARTITIONS })
  const producer = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 5, batchSize: 50 * 200 })
  const value = Buffer.alloc(100, 120)
  for (let sent = 0; sent < RECORDS; sent += 10_000) {
    await Promise.all(Array.from({ length: Math.min(10_000, RECORDS - sent) }, (_, i) => producer.send({ topic: 'bench', partition: (sent + i) % BUSY, value })))
  }
  await producer.close()
  const fetches: RequestEvent[] = []
  const listen = (message: unknown): void => {
    const event = message as RequestEvent
    if (event.apiKey === Fetch.apiKey) fetches.push(event)
  }
  diagnostics.subscribe(REQUEST_CHANNEL, listen)
  const consumer = new Consumer({ bootstrapServers: broker.bootstrap, autoOffsetReset: 'earliest', maxPartitionFetchBytes: 16 * 1024, fetchMaxWaitMs: 100 })
  try {
    await consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: 'bench', partition })))
    const started = performance.now()
    let count = 0
    for await (const batch of consumer.batches()) {
      count += batch.records.length
      if (count >= RECORDS) break
    }
    const seconds = (performance.now() - started) / 1000
    return { recordsPerSecond: count / seconds, fetches: fetches.length, requestBytes: fetches.reduce((n, f) => n + f.bytes, 0) / Math.max(1, fetches.length) }
  } finally {
    diagnostics.unsubscribe(REQUEST_CHANNEL, listen)
    await consumer.close()
    await broker.stop()
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const results = { on: [] as Result[], off: [] as Result[] }
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
    const result = await round(mode === 'on')
    results[mode].push(result)
    process.stderr.write(`  round ${r + 1}/${ROUNDS} sessions ${mode}: ${Math.round(result.recordsPerSecond)} records/s, ${result.fetches} fetches of ${Math.round(result.requestBytes)} B on average\n`)
  }
}
console.log(`${RECORDS} records of 100 B in ${BUSY} of ${PARTITIONS} partitions, 16 KiB per partition per fetch; median of ${ROUNDS} alternating rounds`)
for (const mode of ['off', 'on'] as const) {
  const list = results[mode]
  console.log(`sessions ${mode.padEnd(3)} ${Math.round(median(list.map((r) => r.recordsPerSecond))).toLocaleString('en-US').padStart(9)} records/s  ${Math.round(median(list.map((r) => r.requestBytes))).toLocaleString('en-US').padStart(7)} B per Fetch request`)
}
console.log(`sessions on ÷ off: ${(median(results.on.map((r) => r.recordsPerSecond)) / median(results.off.map((r) => r.recordsPerSecond))).toFixed(2)}x`)
