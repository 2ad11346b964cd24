/**
 * Transactional produce throughput: baton's transactional producer with 100 and 1000 records per
 * transaction, against baton's idempotent producer sending the same groups (each flushed and
 * awaited, without a transaction) and against librdkafka's transactional and idempotent producers
 * (@confluentinc/kafka-javascript, when the conformance suite has installed it), all on the
 * embedded broker in the same run. Prints records/s and ratios, as medians over rounds that
 * alternate the order of the clients (single runs on a shared machine swing by tens of percent).
 *
 *   npm run bench:transactions      (or: npx tsx bench/transactions.ts [--records N] [--rounds R])
 *
 * Each measurement runs in a child process; the broker runs in this one.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startBroker } from '../src/broker/index.js'
import { Producer } from '../src/client/producer/producer.js'
import { confluentAvailable, confluentGroups } from './client/confluent-transactions.js'

type Runner = 'baton-txn' | 'baton-idempotent' | 'librdkafka-txn' | 'librdkafka-idempotent'

const SIZE = 100

async function batonGroups(bootstrap: string[], topic: string, count: number, perGroup: number, transactional: boolean): Promise<void> {
  const producer = new Producer({
    bootstrapServers: bootstrap,
    lingerMs: 5,
    batchSize: 256 * 1024,
    maxRequestSize: 8 * 1024 * 1024,
    ...(transactional ? { transactionalId: `bench-${process.pid}` } : {}),
  })
  const value = Buffer.alloc(SIZE, 120)
  const group = (sent: number, n: number): Array<Promise<unknown>> => {
    const pending = new Array<Promise<unknown>>(n)
    for (let i = 0; i < n; i++) pending[i] = producer.send({ topic, partition: (sent + i) % 4, value })
    return pending
  }
  if (transactional) await producer.initTransactions()
  for (let sent = 0; sent < count; sent += perGroup) {
    const n = Math.min(perGroup, count - sent)
    if (transactional) {
      producer.beginTransaction()
      const pending = group(sent, n)
      await producer.commitTransaction()
      await Promise.all(pending)
    } else {
      // flush() sends without waiting for linger, as commitTransaction() does: the same shape.
      const pending = group(sent, n)
      await producer.flush()
      await Promise.all(pending)
    }
  }
  await producer.close()
}

async function worker(runner: Runner, bootstrap: string[], topic: string, count: number, perGroup: number): Promise<number> {
  const start = performance.now()
  if (runner === 'baton-txn') await batonGroups(bootstrap, topic, count, perGroup, true)
  else if (runner === 'baton-idempotent') await batonGroups(bootstrap, topic, count, perGroup, false)
  else await confluentGroups(bootstrap, topic, count, SIZE, perGroup, runner === 'librdkafka-txn' ? `bench-rdk-${process.pid}` : null)
  return count / ((performance.now() - start) / 1000)
}

async function runChild(runner: Runner, bootstrap: string[], topic: string, count: number, perGroup: number): Promise<number> {
  const script = fileURLToPath(import.meta.url)
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, '--worker', runner, bootstrap.join(','), topic, String(count), String(perGroup)], { encoding: 'utf8' })
  return Number(JSON.parse(stdout.trim().split('\n').at(-1)!))
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function flag(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name)
  return at >= 0 ? Number(args[at + 1]) : fallback
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  if (args[0] === '--worker') {
    const [, runner, bootstrap, topic, count, perGroup] = args
    process.stdout.write(`${JSON.stringify(await worker(runner as Runner, bootstrap!.split(','), topic!, Number(count), Number(perGroup)))}\n`)
    return
  }
  const records = flag(args, '--records', 100_000)
  const rounds = flag(args, '--rounds', 3)
  const runners: Runner[] = confluentAvailable() ? ['baton-txn', 'baton-idempotent', 'librdkafka-txn', 'librdkafka-idempotent'] : ['baton-txn', 'baton-idempotent']
  const broker = await startBroker({ nodes: 1, port: 0, memory: true })
  let topics = 0
  try {
    console.log(`transactional produce: embedded broker, 1 node, 4 partitions, ${SIZE}-byte records, acks=all; median of ${rounds} rounds`)
    console.log(`${'per txn'.padEnd(8)} ${'client'.padEnd(22)} ${'records'.padStart(8)} ${'records/s'.padStart(11)}`)
    const ratios: string[] = []
    for (const perGroup of [100, 1000]) {
      // Fewer records for small transactions: each costs a few round trips whatever its size.
      const count = perGroup === 100 ? Math.floor(records / 4) : records
      const samples = new Map<Runner, number[]>(runners.map((r) => [r, []]))
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? runners : [...runners].reverse()
        for (const runner of order) {
          const topic = `bench-txn-${topics++}`
          broker.createTopic(topic, { partitions: 4 })
          samples.get(runner)!.push(await runChild(runner, broker.bootstrap, topic, count, perGroup))
        }
      }
      const rate = (r: Runner): number => median(samples.get(r)!)
      for (const runner of runners) console.log(`${String(perGroup).padEnd(8)} ${runner.padEnd(22)} ${String(count).padStart(8)} ${Math.round(rate(runner)).toLocaleString('en-US').padStart(11)}`)
      ratios.push(`${perGroup}/txn: baton transactional / baton idempotent = ${(rate('baton-txn') / rate('baton-idempotent')).toFixed(2)}`)
      if (runners.includes('librdkafka-txn')) {
        ratios.push(`${perGroup}/txn: baton transactional / librdkafka transactional = ${(rate('baton-txn') / rate('librdkafka-txn')).toFixed(2)}`)
        ratios.push(`${perGroup}/txn: librdkafka transactional / librdkafka idempotent = ${(rate('librdkafka-txn') / rate('librdkafka-idempotent')).toFixed(2)}`)
      }
    }
    for (const line of ratios) console.log(line)
    console.log('idempotent rows send the same groups of records, each flushed and awaited, without a transaction')
    if (!runners.includes('librdkafka-txn')) console.log('librdkafka left out: run npm run test:conformance once to install @confluentinc/kafka-javascript')
  } finally {
    await broker.stop()
  }
}

await main()
