/**
 * A broker killed with SIGKILL while a transaction is open (`baton broker --data` in a child
 * process): after the restart the committed transaction is intact, the open one holds the LSO
 * until its timeout, then is aborted: read_committed readers never see its records and the LSO
 * moves on.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, it } from 'node:test'
import { startBroker } from '../../../src/broker/index.js'
import { ManualScheduler } from '../../../src/broker/groups/scheduler.js'
import { CreateTopics } from '../../../src/protocol/generated/index.js'
import { latestOffset, readPartition } from './helpers.js'
import { Wire, WireProducer } from './wire.js'

const BIN = join(import.meta.dirname, '..', '..', '..', 'bin', 'baton.js')
const PREFIX = 'baton broker listening on '

function startCli(dir: string): Promise<{ child: ChildProcess; bootstrap: string[] }> {
  const child = spawn(process.execPath, [BIN, 'broker', '--port', '0', '--log-level', 'silent', '--data', dir], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('baton broker printed no listening line within 60 s')), 60_000)
    child.once('exit', (code) => reject(new Error(`baton broker exited with ${code} before listening`)))
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith(PREFIX)) return
      clearTimeout(timer)
      resolve({ child, bootstrap: line.slice(PREFIX.length).split(',') })
    })
  })
}

const dir = mkdtempSync(join(tmpdir(), 'baton-txn-crash-'))
after(() => rmSync(dir, { recursive: true, force: true }))

it('a transaction open when the broker is killed is aborted by its timeout after the restart, never half-visible', async () => {
  const timeoutMs = 30_000
  const { child, bootstrap } = await startCli(dir)
  const wire = await Wire.connect(bootstrap, () => 0)
  let openFirst: bigint
  try {
    const created = await wire.conns[0]!.request(CreateTopics, 7, { topics: [{ name: 'crash', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000 })
    assert.equal(created.topics[0]!.errorCode, 0)
    const done = new WireProducer(wire, 'crash-done')
    await done.init()
    await done.addPartitions([{ topic: 'crash', partition: 0 }])
    await done.produce('crash', 0, ['committed'])
    assert.equal(await done.end(true), 0)
    const open = new WireProducer(wire, 'crash-open', timeoutMs)
    await open.init()
    await open.addPartitions([{ topic: 'crash', partition: 0 }])
    openFirst = (await open.produce('crash', 0, ['open-1', 'open-2'])).baseOffset
    await open.produce('crash', 0, ['open-3'])
  } finally {
    await wire.close()
  }
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })

  // The transaction started at most a few seconds ago on the wall clock; the restarted coordinator's
  // clock starts now and is moved past the timeout by hand.
  const clock = new ManualScheduler(Date.now())
  const broker = await startBroker({ dataDir: dir, transactions: { scheduler: clock } })
  try {
    assert.equal(await latestOffset(broker, 'crash', 0, 'read_committed'), openFirst, 'the open transaction still holds the LSO')
    assert.deepEqual((await readPartition(broker, 'crash', 0, 'read_committed')).values, ['committed'])
    clock.advance(timeoutMs)
    const after = await readPartition(broker, 'crash', 0, 'read_committed')
    assert.deepEqual(after.values, ['committed'])
    assert.equal(after.lastStableOffset, after.highWatermark, 'the LSO moved past the aborted transaction')
    assert.deepEqual((await readPartition(broker, 'crash', 0, 'read_uncommitted')).values, ['committed', 'open-1', 'open-2', 'open-3'])
  } finally {
    await broker.stop()
  }
})
