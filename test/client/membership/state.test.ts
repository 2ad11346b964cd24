/**
 * The membership state machine accepts exactly the transitions it lists and refuses every other
 * one with a typed error, leaving the state unchanged.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidTransitionError } from '../../../src/client/membership/errors.js'
import { canTransition, hasValidGeneration, MEMBER_STATES, MemberStateMachine, type MemberState } from '../../../src/client/membership/state.js'

/** Drives a fresh machine to `target` along valid transitions. */
function machineIn(target: MemberState): MemberStateMachine {
  const paths: Record<MemberState, MemberState[]> = {
    unjoined: [],
    joining: ['joining'],
    syncing: ['joining', 'syncing'],
    assigning: ['joining', 'syncing', 'assigning'],
    stable: ['joining', 'syncing', 'assigning', 'stable'],
    revoking: ['joining', 'syncing', 'assigning', 'stable', 'revoking'],
    lost: ['joining', 'syncing', 'assigning', 'stable', 'lost'],
    leaving: ['leaving'],
    fatal: ['joining', 'fatal'],
    closed: ['closed'],
  }
  const sm = new MemberStateMachine()
  for (const s of paths[target]) sm.transitionTo(s)
  return sm
}

const VALID: [MemberState, MemberState][] = [
  ['unjoined', 'joining'],
  ['joining', 'syncing'],
  ['joining', 'joining'],
  ['syncing', 'assigning'],
  ['syncing', 'joining'],
  ['assigning', 'stable'],
  ['assigning', 'joining'],
  ['stable', 'revoking'],
  ['stable', 'joining'],
  ['stable', 'lost'],
  ['revoking', 'joining'],
  ['lost', 'joining'],
  ['lost', 'fatal'],
  ['stable', 'leaving'],
  ['leaving', 'closed'],
  ['fatal', 'closed'],
]

const INVALID: [MemberState, MemberState][] = [
  ['unjoined', 'stable'],
  ['unjoined', 'syncing'],
  ['joining', 'stable'],
  ['syncing', 'stable'],
  ['revoking', 'stable'],
  ['lost', 'stable'],
  ['lost', 'assigning'],
  ['closed', 'joining'],
  ['closed', 'unjoined'],
  ['leaving', 'joining'],
  ['fatal', 'joining'],
  ['stable', 'unjoined'],
  ['unjoined', 'lost'],
]

describe('membership state machine', () => {
  for (const [from, to] of VALID) {
    it(`allows ${from} → ${to}`, () => {
      const sm = machineIn(from)
      sm.transitionTo(to)
      assert.equal(sm.state, to)
    })
  }

  for (const [from, to] of INVALID) {
    it(`refuses ${from} → ${to} with InvalidTransitionError`, () => {
      const sm = machineIn(from)
      assert.throws(() => sm.transitionTo(to), (e: unknown) => e instanceof InvalidTransitionError && e.from === from && e.to === to && e.code === 'GROUP_INVALID_TRANSITION')
      assert.equal(sm.state, from)
    })
  }

  it('every state can reach closed, and closed is final', () => {
    for (const state of MEMBER_STATES) {
      if (state === 'closed') continue
      const seen = new Set<MemberState>([state])
      const queue: MemberState[] = [state]
      while (queue.length > 0) {
        const s = queue.shift()!
        for (const next of MEMBER_STATES) {
          if (!canTransition(s, next) || seen.has(next)) continue
          seen.add(next)
          queue.push(next)
        }
      }
      assert.ok(seen.has('closed'), `${state} cannot reach closed`)
    }
    assert.ok(MEMBER_STATES.every((s) => !canTransition('closed', s)))
  })

  it('tells listeners about each change, in order', () => {
    const sm = new MemberStateMachine()
    const seen: string[] = []
    const off = sm.onChange((to, from) => seen.push(`${from}>${to}`))
    sm.transitionTo('joining')
    sm.transitionTo('syncing')
    off()
    sm.transitionTo('joining')
    assert.deepEqual(seen, ['unjoined>joining', 'joining>syncing'])
  })

  it('only states inside a generation may commit', () => {
    assert.deepEqual(MEMBER_STATES.filter(hasValidGeneration), ['assigning', 'stable', 'revoking', 'leaving'])
  })
})
