import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { account } from '../../src/lab/chaos/accounting.js'
import { allowsExplainedDuplicates, resolveChaosConfig } from '../../src/lab/chaos/config.js'
import type { MemberEvent } from '../../src/lab/chaos/events.js'
import { LabConfigError } from '../../src/lab/errors.js'

const effect = (t: number, id: number, o = id): MemberEvent => ({ e: 'effect', t, id, p: 0, o })

describe('chaos accounting', () => {
  // m1 ran records 1 and 2, was SIGKILLed before committing 2; m2 ran 2 again.
  const events = new Map<string, MemberEvent[]>([
    ['m1', [effect(10, 1), effect(20, 2)]],
    ['m2', [effect(40, 2), effect(50, 3)]],
  ])
  const killedAt = new Map([['m1', 30]])

  it('at-least-once: counts the effect lines, a SIGKILL explaining the redone record', () => {
    const a = account({ produced: new Set([1, 2, 3, 4]), events, killedAt, startedAt: 0 })
    assert.equal(a.countedFrom, 'effect lines')
    assert.deepEqual(a.lost, [4])
    assert.deepEqual(
      a.duplicates.map((d) => [d.id, d.explanation]),
      [[2, 'sigkill']],
    )
    assert.deepEqual([a.handlerRuns, a.redone.runs, a.redone.byExplanation.sigkill], [4, 1, 1])
  })

  it('exactly-once: counts the outcomes, the redone handler run is reported apart and is no duplicate', () => {
    const outcomes = [1, 3].map((id) => ({ id, member: id === 1 ? 'm1' : 'm2', t: id * 10, partition: 0, offset: id })).concat([{ id: 2, member: 'm2', t: 40, partition: 0, offset: 2 }])
    const a = account({ produced: new Set([1, 2, 3]), events, killedAt, startedAt: 0, outcomes })
    assert.equal(a.countedFrom, 'outcomes')
    assert.deepEqual([a.processed, a.lost, a.duplicates], [3, [], []])
    assert.deepEqual([a.handlerRuns, a.redone.runs, a.redone.byExplanation.sigkill], [4, 1, 1])
  })

  it('exactly-once: an outcome seen twice is a duplicate, with what happened to the member between', () => {
    const outcomes = [
      { id: 2, member: 'm1', t: 20, partition: 0, offset: 2 },
      { id: 2, member: 'm2', t: 40, partition: 0, offset: 2 },
    ]
    const a = account({ produced: new Set([2]), events, killedAt, startedAt: 0, outcomes })
    assert.equal(a.duplicates.length, 1)
    assert.match(a.duplicates[0]!.because.join(), /m1 SIGKILLed/)
  })

  it('a zombie explains what others redid while it was frozen, and the work it had under way when woken', () => {
    const zombieEvents = new Map<string, MemberEvent[]>([
      ['m1', [effect(10, 1), { e: 'lost', t: 55, ps: [0] }, effect(60, 2), { e: 'assigned', t: 70, ps: [0] }, effect(80, 3), effect(90, 4)]],
      ['m2', [effect(30, 1), effect(40, 2), effect(45, 3), effect(85, 4)]],
    ])
    const frozen = new Map([['m1', [{ from: 20, to: 50 }]]])
    const a = account({ produced: new Set([1, 2, 3, 4]), events: zombieEvents, killedAt: new Map(), frozen, startedAt: 0 })
    const by = new Map(a.duplicates.map((d) => [d.id, d.explanation]))
    assert.equal(by.get(1), 'zombie', 'm2 redid what m1 did before it froze')
    assert.equal(by.get(2), 'zombie', 'm1, woken, finished work it had under way (just after onLost told it), which m2 had redone')
    assert.equal(by.get(3), 'unexplained', 'once m1 was assigned again, nothing explains its redoing')
    assert.equal(by.get(4), 'unexplained', 'nor what m2 redid after m1')
  })
})

describe('chaos delivery options', () => {
  it('allows explained duplicates in at-least-once only', () => {
    assert.equal(allowsExplainedDuplicates('at-least-once'), true)
    assert.equal(allowsExplainedDuplicates('transactional'), false)
    assert.equal(allowsExplainedDuplicates('store'), false)
  })

  it('store delivery needs a PostgreSQL url and partition mode; --store needs store delivery', () => {
    assert.throws(() => resolveChaosConfig({ outDir: '/tmp/x', delivery: 'store' }), LabConfigError)
    assert.throws(() => resolveChaosConfig({ outDir: '/tmp/x', delivery: 'store', store: 'postgres://h/db', mode: 'key' }), LabConfigError)
    assert.throws(() => resolveChaosConfig({ outDir: '/tmp/x', delivery: 'transactional', store: 'postgres://h/db' }), LabConfigError)
    assert.equal(resolveChaosConfig({ outDir: '/tmp/x', delivery: 'store', store: 'postgres://h/db' }).store, 'postgres://h/db')
  })
  it('baton chaos refuses --delivery store without --store before starting anything, saying what to give', () => {
    const bin = fileURLToPath(new URL('../../bin/baton.js', import.meta.url))
    const r = spawnSync(process.execPath, [bin, 'chaos', '--delivery', 'store'], { encoding: 'utf8', timeout: 20_000 })
    assert.equal(r.status, 1)
    assert.match(r.stderr, /store delivery needs a PostgreSQL server shared by the member processes: give its connection string with --store postgres:\/\//)
    const unknown = spawnSync(process.execPath, [bin, 'chaos', '--delivery', 'exactly-once'], { encoding: 'utf8', timeout: 20_000 })
    assert.notEqual(unknown.status, 0)
    assert.match(unknown.stderr, /Allowed choices are at-least-once, transactional, store/)
  })
})
