/**
 * Invariants of the transactional delivery across processes (members are child processes running
 * `baton()` with `delivery: 'transactional'`, see helpers/transactional-member.ts):
 * - a member SIGKILLed in the middle of a transaction, its outputs acknowledged but not committed
 *   (key ordering, so records above the committed offset are done and named in the metadata):
 *   read_committed readers of the output topic see each input's output exactly once, nothing lost,
 *   once the other member has taken over (the dead transaction is aborted by its timeout, and the
 *   new owner's offset fetch waits for that);
 * - a member restarted with its predecessor's transactional id aborts the predecessor's open
 *   transaction when its producer initialises, before it joins: its work goes on at once instead of
 *   after the transaction timeout;
 * - a zombie: a member stopped (SIGSTOP) mid-transaction past its session timeout, continued
 *   (SIGCONT) after the group moved on, tries to commit and is refused; none of its transaction's
 *   outputs ever becomes visible, the new owner's are.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { produce } from '../../client/group-consumer/helpers.js'
import { countByInput, readTopic, waitFor } from './helpers/outputs.js'

const MEMBER = fileURLToPath(new URL('./helpers/transactional-member.ts', import.meta.url))
const PARTITIONS = 4
const PER_PARTITION = 100
const INPUTS = PARTITIONS * PER_PARTITION

/** A member process and the lines it printed. */
class Member {
  readonly lines: string[] = []
  private stderr = ''
  private readonly waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = []
  readonly exited: Promise<unknown>

  constructor(readonly child: ChildProcessByStdio<null, Readable, Readable>) {
    let pending = ''
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString()
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        this.lines.push(line)
        for (const waiter of [...this.waiters]) {
          if (!waiter.match(line)) continue
          this.waiters.splice(this.waiters.indexOf(waiter), 1)
          waiter.resolve(line)
        }
      }
    })
    child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()))
    this.exited = once(child, 'exit')
  }

  static start(broker: EmbeddedBroker, group: string, name: string, action: string, ordering: 'partition' | 'key' = 'partition', env: Record<string, string> = {}): Member {
    const args = ['--import', 'tsx', MEMBER, broker.bootstrap.join(','), group, `${group}-in`, `${group}-out`, name, action, ordering]
    return new Member(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }))
  }

  /** The first line (printed already or to come) starting with `prefix`. */
  line(prefix: string, timeoutMs: number): Promise<string> {
    const seen = this.lines.find((l) => l.startsWith(prefix))
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${prefix}" line within ${timeoutMs} ms; printed: ${this.lines.join(' | ')}; stderr: ${this.stderr}`)), timeoutMs)
      this.waiters.push({
        match: (l) => l.startsWith(prefix),
        resolve: (l) => {
          clearTimeout(timer)
          resolve(l)
        },
      })
    })
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.kill('SIGCONT')
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000)
    await this.exited
    clearTimeout(timer)
  }
}

describe('transactional delivery with members as processes', () => {
  let broker: EmbeddedBroker
  const members: Member[] = []
  before(async () => {
    broker = await startBroker({ nodes: 1, memory: true, groups: { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 500 } })
  })
  after(async () => {
    await Promise.all(members.map((m) => m.stop()))
    await broker.stop()
  })

  function topics(group: string): void {
    broker.createTopic(`${group}-in`, { partitions: PARTITIONS })
    broker.createTopic(`${group}-out`, { partitions: PARTITIONS })
  }

  /** A member process, stopped with the others after the tests. */
  function started(group: string, name: string, action: string, ordering: 'partition' | 'key' = 'partition', env: Record<string, string> = {}): Member {
    const member = Member.start(broker, group, name, action, ordering, env)
    members.push(member)
    return member
  }

  /** SIGKILL once the member's transaction has its outputs acknowledged and is still open. */
  async function killInTransaction(member: Member): Promise<void> {
    await member.line('in-transaction', 60_000)
    member.child.kill('SIGKILL')
    await member.exited
  }

  function everyInputCommitted(group: string, ms: number): Promise<void> {
    return waitFor('every input to have a committed output', async () => countByInput(await readTopic(broker, `${group}-out`, PARTITIONS, 'read_committed')).size === INPUTS, ms)
  }

  it('SIGKILL mid-transaction (key ordering: records finish out of order): read_committed outputs hold each input exactly once, none lost', async () => {
    const group = 'killed'
    topics(group)
    const survivor = started(group, 'survivor', 'run', 'key')
    await survivor.line('assigned', 30_000)
    const victim = started(group, 'victim', 'block:3', 'key')
    // Both own partitions before the input arrives, so both work on it.
    await victim.line('assigned', 30_000)
    await produce(broker.bootstrap, `${group}-in`, PARTITIONS, PER_PARTITION)
    // The victim's third transaction has its outputs acknowledged and is still open: kill it there.
    await killInTransaction(victim)
    const uncommittedAtKill = (await readTopic(broker, `${group}-out`, PARTITIONS, 'read_uncommitted')).filter((v) => v.includes('@victim'))

    await everyInputCommitted(group, 90_000)
    await survivor.stop()
    assert.match(await survivor.line('stopped', 1000), /^stopped 0$/)

    const counts = countByInput(await readTopic(broker, `${group}-out`, PARTITIONS, 'read_committed'))
    assert.equal(counts.size, INPUTS, 'an input without output: lost')
    assert.deepEqual([...counts].filter(([, n]) => n !== 1), [], 'inputs with more than one visible output')
    // The kill did hit an open transaction with outputs written: they are in the log, never visible.
    const committed = new Set(await readTopic(broker, `${group}-out`, PARTITIONS, 'read_committed'))
    assert.ok(uncommittedAtKill.some((v) => !committed.has(v)), 'the killed transaction had no outputs written')
  })

  it('a member restarted with the same transactional id fences its predecessor’s open transaction at once, not after its timeout', async () => {
    const group = 'restarted'
    topics(group)
    // A timeout far beyond the test: only the restarted member's initialisation can end the transaction in time.
    const env = { BATON_TEST_TRANSACTIONAL_ID: 'restarted-0', BATON_TEST_TRANSACTION_TIMEOUT_MS: '120000' }
    const before = started(group, 'before', 'block:2', 'partition', env)
    await before.line('assigned', 30_000)
    await produce(broker.bootstrap, `${group}-in`, PARTITIONS, PER_PARTITION)
    await killInTransaction(before)
    const startedAt = Date.now()
    const after = started(group, 'after', 'run', 'partition', env)
    await everyInputCommitted(group, 60_000)
    assert.ok(Date.now() - startedAt < 60_000)
    await after.stop()
    const counts = countByInput(await readTopic(broker, `${group}-out`, PARTITIONS, 'read_committed'))
    assert.deepEqual([...counts].filter(([, n]) => n !== 1), [], 'inputs with more than one visible output')
  })

  it('a zombie (SIGSTOP past its session, SIGCONT) is refused: its open transaction’s outputs never become visible', async () => {
    const group = 'zombie'
    topics(group)
    await produce(broker.bootstrap, `${group}-in`, PARTITIONS, PER_PARTITION)
    const zombie = started(group, 'zombie', 'stall:3')
    const stalled = await zombie.line('in-transaction', 60_000)
    zombie.child.kill('SIGSTOP')
    const ranges = JSON.parse(stalled.slice('in-transaction '.length)) as { partition: number; from: string; to: string }[]
    const heir = started(group, 'heir', 'run')
    try {
      // The heir gets the partitions once the zombie's session expired, and their committed offsets
      // once the zombie's open transaction was aborted by its timeout.
      await everyInputCommitted(group, 90_000)
    } finally {
      zombie.child.kill('SIGCONT')
    }
    // Awake, the zombie goes on with its transaction and is refused.
    assert.match(await zombie.line('aborted', 30_000), /^aborted 3 /)
    await zombie.stop()
    await heir.stop()

    const visible = await readTopic(broker, `${group}-out`, PARTITIONS, 'read_committed')
    const counts = countByInput(visible)
    assert.equal(counts.size, INPUTS, 'an input without output: lost')
    assert.deepEqual([...counts].filter(([, n]) => n !== 1), [], 'inputs with more than one visible output')
    const byInput = new Map(visible.map((v) => [v.split('@')[0] as string, v]))
    let covered = 0
    for (const { partition, from, to } of ranges) {
      for (let offset = BigInt(from); offset < BigInt(to); offset++) {
        covered++
        const output = byInput.get(`${partition}:${offset}`)
        assert.ok(output?.includes('@heir'), `input ${partition}:${offset} of the zombie's transaction shows ${output}`)
      }
    }
    assert.ok(covered > 0, 'the stalled transaction covered no input')
    const zombieWritten = (await readTopic(broker, `${group}-out`, PARTITIONS, 'read_uncommitted')).filter((v) => v.includes('@zombie'))
    assert.ok(zombieWritten.some((v) => !visible.includes(v)), 'the zombie’s stalled outputs were never written')
  })
})
