import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LabConfigError } from '../../src/lab/errors.js'
import { ObservationRecorder } from '../../src/lab/observation.js'
import { SeededRandom } from '../../src/lab/random.js'
import { formatScript, parseScript, validateScript } from '../../src/lab/script.js'
import { renderTable } from '../../src/lab/table.js'
import { summarize } from '../../src/lab/verify.js'

describe('lab membership script', () => {
  it('parses steps in seconds or milliseconds and orders them by time', () => {
    assert.deepEqual(parseScript('leave@5s, join@1500ms,crash@8s'), [
      { action: 'join', atMs: 1500 },
      { action: 'leave', atMs: 5000 },
      { action: 'crash', atMs: 8000 },
    ])
    assert.equal(formatScript(parseScript('join@2s,crash@2500ms')), 'join@2s,crash@2500ms')
    assert.deepEqual(parseScript(''), [])
  })

  it('names the bad step and says what a step looks like', () => {
    assert.throws(() => parseScript('join@2s,explode@3s'), (e: unknown) => e instanceof LabConfigError && e.message.includes('"explode@3s"'))
    assert.throws(() => parseScript('join@soon'), LabConfigError)
  })

  it('refuses a script that would empty the group', () => {
    assert.throws(() => validateScript(parseScript('leave@1s,crash@2s'), 2), LabConfigError)
    assert.doesNotThrow(() => validateScript(parseScript('join@1s,leave@2s,crash@3s'), 2))
  })
})

describe('lab accounting', () => {
  it('counts processed, lost and duplicated records from effects alone', () => {
    let now = 0
    const recorder = new ObservationRecorder(() => now)
    recorder.assigned('a', [0, 1])
    now = 10
    recorder.effect(0, 0, 0, 'a')
    now = 20
    recorder.effect(1, 1, 0, 'a')
    now = 30
    recorder.crash('a', 2)
    recorder.assigned('b', [0, 1])
    now = 130
    recorder.effect(1, 1, 0, 'b') // redelivered after the crash
    recorder.effect(2, 0, 1, 'b')
    recorder.effect(2, 0, 1, 'b') // a duplicate by a live member
    const outcome = summarize(recorder.finish('test', 4))
    assert.equal(outcome.processed, 3)
    assert.deepEqual(outcome.lostRecordIds, [3])
    assert.equal(outcome.duplicated, 2)
    assert.equal(outcome.extraEffects, 2)
    assert.equal(outcome.duplicatedAfterCrash, 1)
    assert.equal(outcome.inFlightAtCrash, 2)
    // Partition 0: effects at 10 and 130: a 120 ms pause; partition 1: 20 and 130.
    assert.equal(outcome.longestPartitionPauseMs, 120)
  })

  it('renders one aligned row per strategy', () => {
    const outcome = summarize(new ObservationRecorder(() => 0).finish('naive', 0))
    const table = renderTable([outcome, { ...outcome, strategy: 'baton' }]).split('\n')
    assert.equal(table.length, 4)
    assert.ok(table[0]!.startsWith('strategy'))
    assert.equal(new Set(table.map((l) => l.length)).size, 1)
  })
})

describe('seeded randomness', () => {
  it('repeats exactly for one seed and differs for another', () => {
    const draw = (seed: number): number[] => {
      const r = new SeededRandom(seed)
      return Array.from({ length: 5 }, () => r.integer(0, 1000))
    }
    assert.deepEqual(draw(7), draw(7))
    assert.notDeepEqual(draw(7), draw(8))
    assert.ok(draw(7).every((n) => n >= 0 && n <= 1000))
  })
})

describe('lab html report', () => {
  it('is one self-contained page with the table, a timeline per strategy and escaped text', async () => {
    const { renderHtmlReport } = await import('../../src/lab/report-html.js')
    let now = 0
    const recorder = new ObservationRecorder(() => now)
    recorder.assigned('consumer-<1>', [0])
    now = 50
    recorder.effect(0, 0, 0, 'consumer-<1>')
    recorder.effect(0, 0, 0, 'consumer-<1>')
    const observation = recorder.finish('naive', 1)
    const html = renderHtmlReport({ title: 'lab', configuration: { seed: 1 }, outcomes: [summarize(observation)], observations: [observation], partitions: 1 })
    assert.ok(html.startsWith('<!doctype html>'))
    assert.ok(!/<script|src=|href=/.test(html), 'no scripts or external assets')
    assert.ok(html.includes('<table id="results">'))
    assert.equal((html.match(/<svg /g) ?? []).length, 1)
    assert.equal((html.match(/class="dup"/g) ?? []).length, 1)
    assert.ok(html.includes('consumer-&lt;1&gt;') && !html.includes('consumer-<1>'))
  })
})

describe('lab accounting around a crash', () => {
  it('blames the crash only for records that took effect before it and again after it', () => {
    let now = 0
    const recorder = new ObservationRecorder(() => now)
    recorder.assigned('a', [0])
    now = 10
    recorder.effect(0, 0, 0, 'a')
    now = 20
    recorder.effect(0, 0, 0, 'b') // a graceful-rebalance duplicate a took part in, before it crashed
    now = 30
    recorder.effect(1, 0, 1, 'a')
    now = 40
    recorder.crash('a', 1)
    now = 100
    recorder.effect(1, 0, 1, 'b') // redelivered because a died before committing it
    const outcome = summarize(recorder.finish('test', 2))
    assert.equal(outcome.duplicated, 2)
    assert.equal(outcome.duplicatedAfterCrash, 1)
  })
})
