/**
 * Invariant: records produced by librdkafka (through Debian's kcat) to baton's embedded broker are
 * read back by kcat exactly once each, in order within their partition, with key, value and
 * headers intact — for every compression codec, on one node and on three.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'

const run = promisify(execFile)
const RECORDS = 10_000
const PARTITIONS = 6
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const

/** Pipes `input` into kcat and resolves when it exits; kcat -P exits once everything is acknowledged. */
function kcatProduce(args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${stderr}`))))
    child.stdin.end(input)
  })
}

interface ReadRecord {
  partition: number
  offset: number
  key: string
  value: string
  headers: string
}

async function kcatConsume(bootstrap: string, topic: string): Promise<ReadRecord[]> {
  const { stdout } = await run(
    'kcat',
    ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p\\t%o\\t%k\\t%s\\t%h\\n'],
    { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
  )
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [partition, offset, key, value, headers] = line.split('\t')
      return { partition: Number(partition), offset: Number(offset), key: key!, value: value!, headers: headers! }
    })
}

for (const nodes of [1, 3]) {
  describe(`kcat against the embedded broker, ${nodes} node(s)`, () => {
    let broker: EmbeddedBroker
    before(async () => {
      broker = await startBroker({ nodes, memory: true })
    })
    after(async () => {
      await broker.stop()
    })

    for (const codec of CODECS) {
      it(`round-trips ${RECORDS} keyed records with ${codec} compression`, async () => {
        const topic = `kcat-${codec}-${nodes}`
        broker.createTopic(topic, { partitions: PARTITIONS })
        const lines = Array.from({ length: RECORDS }, (_, i) => `key-${i % 500}:value-${i}`).join('\n') + '\n'
        await kcatProduce(
          ['-b', broker.bootstrap.join(','), '-P', '-t', topic, '-K:', '-z', codec, '-H', 'source=kcat', '-X', 'enable.idempotence=true'],
          lines,
        )
        const records = await kcatConsume(broker.bootstrap.join(','), topic)
        assert.equal(records.length, RECORDS)
        const seen = new Set<number>()
        const lastOffset = new Map<number, number>()
        const lastSeqOfKey = new Map<string, number>()
        const partitionOfKey = new Map<string, number>()
        for (const r of records) {
          const seq = Number(r.value.slice('value-'.length))
          assert.ok(!seen.has(seq), `value-${seq} read twice`)
          seen.add(seq)
          assert.equal(r.key, `key-${seq % 500}`)
          assert.equal(r.headers, 'source=kcat')
          assert.ok(r.offset > (lastOffset.get(r.partition) ?? -1), 'offsets increase within a partition')
          lastOffset.set(r.partition, r.offset)
          // One key, one partition, and its records in the order they were produced.
          assert.equal(partitionOfKey.get(r.key) ?? r.partition, r.partition)
          partitionOfKey.set(r.key, r.partition)
          assert.ok(seq > (lastSeqOfKey.get(r.key) ?? -1), `records of ${r.key} out of order`)
          lastSeqOfKey.set(r.key, seq)
        }
        assert.equal(seen.size, RECORDS)
        assert.ok(new Set(records.map((r) => r.partition)).size === PARTITIONS, 'keys spread over every partition')
      })
    }
  })
}
