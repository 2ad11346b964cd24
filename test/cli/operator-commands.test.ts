/**
 * The operator's commands as a script uses them: topics, produce and consume round-trip records
 * with keys and headers, consume starts where asked (beginning, offset, time) and --exit ends it,
 * reset-offsets is a dry run unless --execute and is refused while the group has members, and every
 * failure has its own exit code and a message saying what to do.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { Admin } from '../../src/client/admin/admin.js'
import { GroupConsumer } from '../../src/client/consumer/group-consumer.js'

const exec = promisify(execFile)
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'baton.js')

interface Result {
  code: number
  stdout: string
  stderr: string
}

function baton(args: string[], input = ''): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }))
    child.stdin.end(input)
  })
}

describe('baton topics, produce, consume, groups (CLI)', () => {
  let broker: EmbeddedBroker
  let b: string[]
  before(async () => {
    broker = await startBroker({ port: 0, autoCreateTopics: false })
    b = ['--brokers', broker.bootstrap.join(',')]
  })
  after(() => broker.stop())

  it('creates, describes, grows, lists and deletes a topic', async () => {
    assert.equal((await baton(['topics', 'create', 'cli-t', '-p', '2', '--config-entry', 'retention.ms=3600000', ...b])).code, 0)
    await exec(process.execPath, [BIN, 'topics', 'add-partitions', 'cli-t', '--total', '3', ...b])
    const described = JSON.parse((await baton(['topics', 'describe', 'cli-t', ...b, '--json'])).stdout) as Array<{ partitions: unknown[]; configs: Record<string, string> }>
    assert.equal(described[0]!.partitions.length, 3)
    assert.equal(described[0]!.configs['retention.ms'], '3600000')
    const listed = JSON.parse((await baton(['topics', 'list', ...b, '--json'])).stdout) as Array<{ name: string; partitions: number }>
    assert.deepEqual(listed.find((t) => t.name === 'cli-t'), { name: 'cli-t', partitions: 3 })
    assert.equal((await baton(['topics', 'delete', 'cli-t', ...b])).code, 0)
    const gone = await baton(['topics', 'describe', 'cli-t', ...b])
    assert.equal(gone.code, 3)
    assert.match(gone.stderr, /does not exist; see `baton topics list`/)
  })

  it('produces stdin lines with keys and headers and consumes them back from the beginning, an offset and a time', async () => {
    broker.createTopic('cli-rt', { partitions: 1 })
    const before = Date.now()
    const produced = await baton(['produce', 'cli-rt', '-K', ':', '-H', 'source=cli', '-z', 'lz4', '--acks', '1', ...b, '--json'], 'a:1\nb:2\nc:3\nno-key-line\n')
    assert.equal(produced.code, 0, produced.stderr)
    assert.deepEqual(JSON.parse(produced.stdout), { topic: 'cli-rt', produced: 4, partitions: { 0: 4 } })
    const all = await baton(['consume', 'cli-rt', '--from-beginning', '--exit', '-f', '%o %k=%v %h\\n', ...b])
    assert.equal(all.code, 0, all.stderr)
    assert.equal(all.stdout, '0 a=1 source=cli\n1 b=2 source=cli\n2 c=3 source=cli\n3 =no-key-line source=cli\n')
    const fromOffset = await baton(['consume', 'cli-rt', '--offset', '2', '--exit', ...b, '--json'])
    assert.deepEqual(
      fromOffset.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { offset: number; key: string | null }).key),
      ['c', null],
    )
    const fromTime = await baton(['consume', 'cli-rt', '--from-time', String(before), '--exit', '-n', '1', ...b])
    assert.equal(fromTime.stdout, '1\n')
    // --exit at the end with nothing to read ends at once.
    assert.equal((await baton(['consume', 'cli-rt', '--exit', ...b])).stdout, '')
  })

  it('reset-offsets: a dry run, then --execute; refused with exit 5 while the group has members', async () => {
    broker.createTopic('cli-reset', { partitions: 2 })
    await baton(['produce', 'cli-reset', '-p', '0', ...b], Array.from({ length: 10 }, (_, i) => `r${i}`).join('\n') + '\n')
    const read = await baton(['consume', 'cli-reset', '--group', 'cli-g', '--from-beginning', '--exit', ...b])
    assert.equal(read.code, 0, read.stderr)
    const admin = new Admin({ bootstrapServers: broker.bootstrap })
    try {
      const committed = async () => (await admin.fetchOffsets('cli-g')).filter((o) => o.partition === 0).map((o) => o.offset)
      assert.deepEqual(await committed(), [10n])
      const dry = await baton(['groups', 'reset-offsets', 'cli-g', '--topic', 'cli-reset:0', '--shift-by', '-4', ...b])
      assert.equal(dry.code, 0, dry.stderr)
      assert.match(dry.stdout, /Dry run/)
      assert.deepEqual(await committed(), [10n])
      const done = JSON.parse((await baton(['groups', 'reset-offsets', 'cli-g', '--topic', 'cli-reset:0', '--shift-by', '-4', '--execute', ...b, '--json'])).stdout) as {
        partitions: Array<{ newOffset: number }>
      }
      assert.equal(done.partitions[0]!.newOffset, 6)
      assert.deepEqual(await committed(), [6n])
      // Clamped to the partition's range, as Kafka's tool does.
      await baton(['groups', 'reset-offsets', 'cli-g', '--topic', 'cli-reset:0', '--to-offset', '999', '--execute', ...b])
      assert.deepEqual(await committed(), [10n])

      const member = new GroupConsumer({ bootstrapServers: broker.bootstrap, groupId: 'cli-g' })
      member.subscribe(['cli-reset'])
      const started = (async () => {
        for await (const _ of member) break
      })()
      try {
        const deadline = Date.now() + 30_000
        while ((await admin.describeGroups(['cli-g']))[0]!.state !== 'Stable') {
          if (Date.now() > deadline) throw new Error('the member never joined')
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
        const refused = await baton(['groups', 'reset-offsets', 'cli-g', '--all-topics', '--to-earliest', '--execute', ...b])
        assert.equal(refused.code, 5)
        assert.match(refused.stderr, /Stable with 1 member\(s\).*stop its consumers first/)
        const deleteRefused = await baton(['groups', 'delete', 'cli-g', ...b])
        assert.equal(deleteRefused.code, 5)
      } finally {
        await member.close()
        await started.catch(() => undefined)
      }
      assert.equal((await baton(['groups', 'delete', 'cli-g', ...b])).code, 0)
    } finally {
      await admin.close()
    }
  })

  it('exit codes: 2 for bad usage, 3 for an unknown group, 4 for unreachable brokers', async () => {
    const usage = await baton(['groups', 'reset-offsets', 'x', '--topic', 't', ...b])
    assert.equal(usage.code, 2)
    assert.match(usage.stderr, /--to-earliest/)
    assert.equal((await baton(['topics', 'create'])).code, 2)
    const missing = await baton(['groups', 'describe', 'no-such-group', ...b, '--json'])
    assert.equal(missing.code, 3)
    assert.equal((JSON.parse(missing.stderr) as { error: { exitCode: number } }).error.exitCode, 3)
    const unreachable = await baton(['topics', 'list', '--brokers', '127.0.0.1:1'])
    assert.equal(unreachable.code, 4)
    assert.match(unreachable.stderr, /pass --brokers/)
    const help = await baton(['groups', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /Examples:[\s\S]*Exit codes/)
  })

  it('baton broker with SASL prints its security protocol and serves the CLI over it', async () => {
    const child = spawn(process.execPath, [BIN, 'broker', '--port', '0', '--log-level', 'silent', '--sasl-mechanism', 'SCRAM-SHA-256', '--sasl-user', 'ops:ops-secret'], { stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString()
          const found = /^baton broker listening on .*$/m.exec(out)
          if (found !== null) resolve(found[0])
        })
        child.once('exit', (code) => reject(new Error(`broker exited ${code}`)))
      })
      const match = /^baton broker listening on (\S+) \(SASL_PLAINTEXT\)$/.exec(line)
      assert.ok(match, line)
      const ok = await baton(['groups', 'list', '--brokers', match[1]!, '--sasl-mechanism', 'SCRAM-SHA-256', '--sasl-username', 'ops', '--sasl-password', 'ops-secret'])
      assert.equal(ok.code, 0, ok.stderr)
      const denied = await baton(['groups', 'list', '--brokers', match[1]!, '--sasl-mechanism', 'SCRAM-SHA-256', '--sasl-username', 'ops', '--sasl-password', 'nope'])
      assert.equal(denied.code, 4)
    } finally {
      child.kill('SIGTERM')
    }
    const bad = await baton(['broker', '--port', '0', '--sasl-mechanism', 'PLAIN'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /needs users: add --sasl-user/)
  })
})
