/**
 * The `baton broker` contract other work relies on: one line beginning `baton broker listening on `
 * with the bootstrap list once every node accepts connections, a clean exit 0 on SIGTERM/SIGINT,
 * and data under --data that survives a restart.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, describe, it } from 'node:test'
import { Kafka, logLevel } from 'kafkajs'

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'baton.js')
const PREFIX = 'baton broker listening on '

interface Running {
  child: ChildProcess
  bootstrap: string[]
}

function startCli(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [BIN, 'broker', '--port', '0', '--log-level', 'silent', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no listening line within 30 s')), 30_000)
    child.once('exit', (code) => reject(new Error(`baton broker exited with ${code} before listening`)))
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith(PREFIX)) return
      clearTimeout(timer)
      resolve({ child, bootstrap: line.slice(PREFIX.length).split(',') })
    })
  })
}

function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code))
    child.kill(signal)
  })
}

describe('baton broker (CLI)', () => {
  const dirs: string[] = []
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })

  it('prints the bootstrap list of every node and exits 0 on SIGINT', async () => {
    const { child, bootstrap } = await startCli(['--nodes', '3', '--memory'])
    assert.equal(bootstrap.length, 3)
    assert.ok(bootstrap.every((b) => /^127\.0\.0\.1:\d+$/.test(b)))
    const admin = new Kafka({ brokers: bootstrap, logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    assert.equal((await admin.describeCluster()).brokers.length, 3)
    await admin.disconnect()
    assert.equal(await stop(child, 'SIGINT'), 0)
  })

  it('keeps topics and records under --data across a restart, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-cli-'))
    dirs.push(dir)
    const first = await startCli(['--data', dir])
    const kafka = new Kafka({ brokers: first.bootstrap, logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'kept', numPartitions: 2 }] })
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic: 'kept', acks: -1, messages: Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) })
    await producer.disconnect()
    await admin.disconnect()
    assert.equal(await stop(first.child, 'SIGTERM'), 0)

    const second = await startCli(['--data', dir])
    const again = new Kafka({ brokers: second.bootstrap, logLevel: logLevel.NOTHING }).admin()
    await again.connect()
    const offsets = await again.fetchTopicOffsets('kept')
    assert.equal(offsets.reduce((sum, p) => sum + Number(p.high), 0), 50)
    await again.disconnect()
    assert.equal(await stop(second.child, 'SIGTERM'), 0)
  })

  it('names the flag when an option is wrong', async () => {
    const child = spawn(process.execPath, [BIN, 'broker', '--nodes', 'many'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    assert.notEqual(code, 0)
    assert.match(stderr, /--nodes must be an integer/)
  })
})
