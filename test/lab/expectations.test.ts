/**
 * The lab's expected results, judged: what results.json and the last line of `npm start` claim for
 * each strategy. A run that misses one must say so, and a run that cannot tell (the comparison
 * strategy did not run, the script changes nothing) must not claim it was met.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { judge, verdict } from '../../src/lab/expectations.js'
import { ObservationRecorder } from '../../src/lab/observation.js'
import { summarize, type Outcome } from '../../src/lab/verify.js'

const outcome = (strategy: string, figures: Partial<Outcome> = {}): Outcome => ({ ...summarize(new ObservationRecorder(() => 0).finish(strategy, 0)), ...figures })
const withCrash = { changes: 3, crashes: 1 }

describe('lab expectations', () => {
  it('exactly-once: met only with 0 duplicated and 0 lost, and says whether the run had its crash', () => {
    assert.deepEqual(judge({ kind: 'exactly-once' }, outcome('store'), [], withCrash), { expected: '0 duplicated and 0 lost, with the crash in the run', met: true, detail: '0 duplicated, 0 lost' })
    assert.equal(judge({ kind: 'exactly-once' }, outcome('store', { duplicated: 1 }), [], withCrash).met, false)
    assert.equal(judge({ kind: 'exactly-once' }, outcome('store', { lost: 2 }), [], withCrash).met, false)
    assert.match(judge({ kind: 'exactly-once' }, outcome('store'), [], { changes: 1, crashes: 0 }).expected, /no crash to test it with/)
  })

  it('baton: fewer duplicated records than naive in the same run, nothing lost; not judged without naive', () => {
    const fewer = { kind: 'fewer-duplicates-than', strategy: 'naive' } as const
    const naive = outcome('naive', { duplicated: 9 })
    assert.equal(judge(fewer, outcome('baton', { duplicated: 3 }), [naive], withCrash).met, true)
    assert.equal(judge(fewer, outcome('baton', { duplicated: 9 }), [naive], withCrash).met, false)
    assert.equal(judge(fewer, outcome('baton', { lost: 1 }), [naive], withCrash).met, false)
    const alone = judge(fewer, outcome('baton'), [], withCrash)
    assert.equal(alone.met, null)
    assert.match(alone.detail, /naive did not run/)
  })

  it('naive: still duplicates; not judged when the script changes no membership', () => {
    assert.equal(judge({ kind: 'duplicates' }, outcome('naive', { duplicated: 4 }), [], withCrash).met, true)
    assert.equal(judge({ kind: 'duplicates' }, outcome('naive'), [], withCrash).met, false)
    assert.equal(judge({ kind: 'duplicates' }, outcome('naive'), [], { changes: 0, crashes: 0 }).met, null)
  })

  it('the verdict line names every strategy that missed, with what it got, and those not judged', () => {
    const met = { expected: 'x', met: true, detail: '' }
    assert.equal(verdict([{ strategy: 'store', result: met }]), 'expected results: all met')
    assert.equal(verdict([{ strategy: 'store', result: met }, { strategy: 'baton', result: { expected: 'y', met: null, detail: '' } }]), 'expected results: all met (baton not judged in this run)')
    assert.match(verdict([{ strategy: 'transactional', result: { expected: '0 duplicated and 0 lost', met: false, detail: '2 duplicated, 0 lost' } }]), /NOT met by transactional \(expected 0 duplicated and 0 lost; got 2 duplicated, 0 lost\)/)
  })
})
