/**
 * Properties of the coordinator's assignors. Both: every partition of a subscribed topic goes to
 * exactly one member that subscribes to its topic. Uniform: with one subscription for all, members
 * end within one partition of each other; a member joining takes partitions only from others and
 * never moves one between two members that stay. Range: per topic, contiguous ranges in member id
 * order, the first ones one larger.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { rangeAssign, uniformAssign, type AssignorInput, type AssignorMember } from '../../../../src/broker/groups/consumer/assignors.js'
import type { Assignment } from '../../../../src/broker/groups/consumer/assignment.js'

const topicsArb = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 1, max: 12 }), { minKeys: 1 })
const memberIds = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 7 })

function members(ids: readonly string[], subs: (id: string) => readonly string[]): AssignorMember[] {
  return ids.map((memberId) => ({ memberId, subscribes: (t: string) => subs(memberId).includes(t) }))
}

function owners(result: Map<string, Assignment>): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const [id, a] of result) for (const [t, ps] of a) for (const p of ps) out.set(`${t}/${p}`, [...(out.get(`${t}/${p}`) ?? []), id])
  return out
}

function checkValid(input: AssignorInput, result: Map<string, Assignment>): void {
  const byPartition = owners(result)
  for (const [topic, count] of input.partitionCounts) {
    const subscribed = input.members.some((m) => m.subscribes(topic))
    for (let p = 0; p < count; p++) {
      const who = byPartition.get(`${topic}/${p}`) ?? []
      assert.equal(who.length, subscribed ? 1 : 0, `${topic}/${p} owners: ${who.join(',')}`)
      if (who.length === 1) assert.ok(input.members.find((m) => m.memberId === who[0])!.subscribes(topic))
    }
  }
}

const size = (a: Assignment | undefined): number => [...(a ?? new Map<string, number[]>()).values()].reduce((n, ps) => n + ps.length, 0)

describe('server-side assignors', () => {
  it('both: every subscribed partition to exactly one subscriber (any subscriptions)', () => {
    fc.assert(
      fc.property(topicsArb, memberIds, fc.func(fc.subarray(['a', 'b', 'c', 'd'])), (topics, ids, subs) => {
        const input: AssignorInput = { members: members(ids, (id) => subs(id)), partitionCounts: new Map(Object.entries(topics)), previous: new Map() }
        checkValid(input, uniformAssign(input))
        checkValid(input, rangeAssign(input))
      }),
    )
  })

  it('uniform: balanced within one for a common subscription, and sticky when a member joins', () => {
    fc.assert(
      fc.property(topicsArb, memberIds, fc.string({ minLength: 5, maxLength: 6 }), (topics, ids, joiner) => {
        const all = Object.keys(topics)
        const first: AssignorInput = { members: members(ids, () => all), partitionCounts: new Map(Object.entries(topics)), previous: new Map() }
        const before = uniformAssign(first)
        const sizes = ids.map((id) => size(before.get(id)))
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes.join(',')}`)
        const after = uniformAssign({ ...first, members: members([...ids, joiner], () => all), previous: before })
        const ownersBefore = owners(before)
        for (const [tp, [now]] of owners(after)) {
          const was = ownersBefore.get(tp)?.[0]
          assert.ok(now === was || now === joiner, `${tp} moved from ${was} to ${now}, not to the joiner`)
        }
      }),
      { numRuns: 300 },
    )
  })

  it('range: contiguous ranges in member id order', () => {
    const input: AssignorInput = { members: members(['m2', 'm1', 'm3'], () => ['a']), partitionCounts: new Map([['a', 7]]), previous: new Map() }
    const result = rangeAssign(input)
    assert.deepEqual(result.get('m1')?.get('a'), [0, 1, 2])
    assert.deepEqual(result.get('m2')?.get('a'), [3, 4])
    assert.deepEqual(result.get('m3')?.get('a'), [5, 6])
  })
})
