/**
 * The coordinators' state files keep one layout, `uint32 length | uint32 CRC-32C | JSON`, so a
 * `--data` directory written by an earlier baton loads in a later one; a torn or corrupt tail is
 * cut at the last intact record and said in the log.
 */
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { BrokerError } from '../../../src/broker/errors.js'
import { FileGroupStore } from '../../../src/broker/groups/file-store.js'
import { FramedLog, frameRecord } from '../../../src/broker/log/framed-log.js'
import { silentLogger } from '../../../src/broker/options.js'
import { FileTransactionStore } from '../../../src/broker/transactions/file-store.js'
import type { StoredTransaction } from '../../../src/broker/transactions/store.js'
import { crc32c } from '../../../src/protocol/records/index.js'
import { recordingLogger, type LogLine } from '../../helpers/logging.js'
import { tempDirPerTest } from '../../helpers/temp-dir.js'

/** The layout written out by hand, independently of the module under test. */
function handFramed(value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value), 'utf8')
  const header = Buffer.alloc(8)
  header.writeUInt32BE(payload.length, 0)
  header.writeUInt32BE(crc32c(payload), 4)
  return Buffer.concat([header, payload])
}

const transaction = (id: string, state: StoredTransaction['state'], epoch: number): StoredTransaction => ({
  transactionalId: id,
  producerId: '7',
  previousProducerId: '-1',
  producerEpoch: epoch,
  lastProducerEpoch: -1,
  timeoutMs: 60_000,
  state,
  partitions: [['t', 0]],
  groups: [],
  pendingOffsets: [],
  startTimestamp: 1,
  lastUpdateTimestamp: 2,
})

describe('framed state log', () => {
  const dir = tempDirPerTest('baton-framed-')

  it('frames a record as length, CRC-32C of the payload, then the JSON', () => {
    const value = { k: 'offset-delete', g: 'g', t: 't', p: 3 }
    assert.deepEqual(frameRecord(value), handFramed(value))
  })

  it('loads a groups.log written in the layout earlier versions wrote', () => {
    writeFileSync(
      join(dir(), 'groups.log'),
      Buffer.concat([
        handFramed({ k: 'offset', g: 'g', t: 't', p: 0, o: '41', e: 3, m: 'meta', ts: 5 }),
        handFramed({ k: 'offset', g: 'g', t: 't', p: 0, o: '42', e: 3, m: null, ts: 6 }),
        handFramed({ k: 'offset', g: 'gone', t: 't', p: 1, o: '9', e: -1, m: null, ts: 1 }),
        handFramed({ k: 'group-delete', g: 'gone' }),
      ]),
    )
    const store = new FileGroupStore(dir(), silentLogger)
    const loaded = store.load()
    store.close()
    assert.deepEqual(loaded.offsets, [{ groupId: 'g', topic: 't', partition: 0, offset: 42n, leaderEpoch: 3, metadata: null, commitTimestamp: 6 }])
    assert.deepEqual(readFileSync(join(dir(), 'groups.log')), handFramed({ k: 'offset', g: 'g', t: 't', p: 0, o: '42', e: 3, m: null, ts: 6 }), 'compacted in the same layout')
  })

  it('loads a transactions.log written in the layout earlier versions wrote, latest state per id', () => {
    const ongoing = transaction('a', 'Ongoing', 0)
    const committed = transaction('a', 'CompleteCommit', 0)
    const other = transaction('b', 'Empty', 4)
    writeFileSync(join(dir(), 'transactions.log'), Buffer.concat([handFramed(ongoing), handFramed(other), handFramed(committed)]))
    const store = new FileTransactionStore(dir(), silentLogger)
    const loaded = store.load()
    store.save(transaction('b', 'Ongoing', 5))
    store.close()
    assert.deepEqual(loaded, [committed, other])
    assert.deepEqual(readFileSync(join(dir(), 'transactions.log')), Buffer.concat([handFramed(committed), handFramed(other), handFramed(transaction('b', 'Ongoing', 5))]))
  })

  // A bad record in the middle ends the replay too: what follows it cannot be trusted to be whole.
  const next = handFramed({ n: 2 })
  for (const [reason, tail] of [
    ['truncated record header', Buffer.from([0, 0, 0])],
    ['truncated record', Buffer.from([0, 0, 0, 40, 1, 2, 3, 4, 5])],
    ['CRC mismatch', (() => {
      const torn = handFramed({ k: 'x' })
      torn.writeUInt32BE((torn.readUInt32BE(4) + 1) >>> 0, 4)
      return Buffer.concat([torn, next])
    })()],
    ['unparseable record', (() => {
      const payload = Buffer.from('{not json')
      const header = Buffer.alloc(8)
      header.writeUInt32BE(payload.length, 0)
      header.writeUInt32BE(crc32c(payload), 4)
      return Buffer.concat([header, payload, next])
    })()],
  ] as const) {
    it(`keeps the records before a ${reason} and says what it dropped`, () => {
      const kept = handFramed({ n: 1 })
      writeFileSync(join(dir(), 'state.log'), Buffer.concat([kept, tail]))
      const seen: LogLine[] = []
      const log = new FramedLog<{ n: number }>({ dir: dir(), file: 'state.log', holds: 'test state', owner: 'test store', logger: recordingLogger(seen) })
      assert.deepEqual(log.replay(), [{ n: 1 }])
      assert.equal(seen.length, 1)
      assert.deepEqual(seen[0]?.fields, { file: join(dir(), 'state.log'), keptBytes: kept.length, droppedBytes: tail.length, reason })
    })
  }

  it('appends after a rewrite, and refuses to once closed', () => {
    const log = new FramedLog<{ n: number }>({ dir: dir(), file: 'state.log', holds: 'test state', owner: 'test store', logger: silentLogger, fsync: true })
    assert.deepEqual(log.replay(), [])
    log.rewrite([{ n: 1 }])
    log.append({ n: 2 })
    log.close()
    assert.deepEqual(new FramedLog<{ n: number }>({ dir: dir(), file: 'state.log', holds: 'test state', owner: 'test store', logger: silentLogger }).replay(), [{ n: 1 }, { n: 2 }])
    assert.throws(() => log.append({ n: 3 }), (e: unknown) => e instanceof BrokerError && e.code === 'BROKER_STOPPED')
  })
})
