/**
 * Properties every assignor must hold, over random groups: each partition of a subscribed topic
 * goes to exactly one subscriber; round-robin and the sticky assignors balance uniform
 * subscriptions to within one partition; the sticky assignors keep as many owned partitions as
 * balance allows; cooperative-sticky never hands a partition to a new member while another still
 * claims it (KIP-429), and its follow-up rebalances converge to a complete, balanced assignment.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  cooperativeStickyAssignor,
  encodeStickyUserData,
  rangeAssignor,
  roundRobinAssignor,
  stickyAssignor,
  type AssignmentInput,
  type MemberSubscription,
  type PartitionAssignor,
} from '../../../src/client/membership/assignors/index.js'
import { partitionKey, type TopicPartition } from '../../../src/client/membership/topic-partitions.js'
import { flatAssign, member, owned } from './assignor-helpers.js'

interface Scenario {
  input: AssignmentInput
  /** Each member's (disjoint) previous partitions. */
  previous: Map<string, TopicPartition[]>
  uniform: boolean
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({ sizes: fc.array(fc.nat({ max: 9 }), { minLength: 1, maxLength: 4 }), memberCount: fc.integer({ min: 1, max: 7 }) })
  .chain(({ sizes, memberCount }) => {
    const topics = sizes.map((_, i) => `t${i}`)
    const total = sizes.reduce((a, b) => a + b, 0)
    return fc.record({
      sizes: fc.constant(sizes),
      topics: fc.constant(topics),
      uniform: fc.boolean(),
      // 'gone' is subscribed to but does not exist: it must simply get no partitions.
      subscriptions: fc.array(fc.subarray([...topics, 'gone'], { minLength: 1 }), { minLength: memberCount, maxLength: memberCount }),
      owners: fc.array(fc.integer({ min: -1, max: memberCount - 1 }), { minLength: total, maxLength: total }),
      ids: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 3 }), { minLength: memberCount, maxLength: memberCount }),
      staticIds: fc.array(fc.option(fc.string({ minLength: 1, maxLength: 3 }), { nil: null }), { minLength: memberCount, maxLength: memberCount }),
    })
  })
  .map(({ sizes, topics, uniform, subscriptions, owners, ids, staticIds }) => {
    const partitionsPerTopic = new Map(topics.map((t, i) => [t, sizes[i]!]))
    const all: TopicPartition[] = topics.flatMap((topic, i) => Array.from({ length: sizes[i]! }, (_, partition) => ({ topic, partition })))
    const previous = new Map<string, TopicPartition[]>(ids.map((id) => [id, []]))
    all.forEach((tp, i) => {
      const owner = owners[i]!
      if (owner >= 0) previous.get(ids[owner]!)!.push(tp)
    })
    const members = ids.map((id, i) =>
      member(id, uniform ? topics : subscriptions[i]!, { groupInstanceId: staticIds[i]!, generationId: 5 }),
    )
    return { input: { members, partitionsPerTopic }, previous, uniform }
  })

/** The same group, each member reporting its previous partitions the way the assignor reads them. */
function withOwnership(s: Scenario, assignor: PartitionAssignor): AssignmentInput {
  const members = s.input.members.map((m): MemberSubscription => {
    const prev = owned(s.previous.get(m.memberId) ?? [])
    if (assignor === stickyAssignor) return { ...m, userData: encodeStickyUserData({ previousAssignment: prev, generationId: 5 }) }
    if (assignor === cooperativeStickyAssignor) return { ...m, ownedPartitions: prev }
    return m
  })
  return { ...s.input, members }
}

function subscribedPartitions(input: AssignmentInput): TopicPartition[] {
  const subscribed = new Set(input.members.flatMap((m) => m.topics))
  const out: TopicPartition[] = []
  for (const [topic, count] of input.partitionsPerTopic) {
    if (subscribed.has(topic)) for (let partition = 0; partition < count; partition++) out.push({ topic, partition })
  }
  return out
}

function owners(result: Map<string, TopicPartition[]>): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const [id, list] of result) for (const tp of list) out.set(partitionKey(tp), [...(out.get(partitionKey(tp)) ?? []), id])
  return out
}

function assertValid(input: AssignmentInput, result: Map<string, TopicPartition[]>, complete: boolean): void {
  assert.deepEqual(new Set(result.keys()), new Set(input.members.map((m) => m.memberId)), 'one entry per member')
  const byKey = owners(result)
  for (const [key, ids] of byKey) assert.equal(ids.length, 1, `${key} assigned to ${ids.join(', ')}`)
  for (const [id, list] of result) {
    const m = input.members.find((x) => x.memberId === id)!
    for (const tp of list) {
      assert.ok(m.topics.includes(tp.topic), `${id} got ${tp.topic} without subscribing`)
      assert.ok(tp.partition < (input.partitionsPerTopic.get(tp.topic) ?? 0), `${partitionKey(tp)} does not exist`)
    }
  }
  if (complete) for (const tp of subscribedPartitions(input)) assert.ok(byKey.has(partitionKey(tp)), `${partitionKey(tp)} unassigned`)
}

function counts(result: Map<string, TopicPartition[]>): number[] {
  return [...result.values()].map((l) => l.length)
}

/** No partition could move to an eligible member holding two or more fewer (Kafka's notion of balanced). */
function assertBalanced(input: AssignmentInput, result: Map<string, TopicPartition[]>): void {
  for (const [from, list] of result) {
    for (const [to, other] of result) {
      if (other.length >= list.length - 1) continue
      const m = input.members.find((x) => x.memberId === to)!
      const movable = list.find((tp) => m.topics.includes(tp.topic))
      assert.equal(movable, undefined, `${from} (${list.length}) could give ${movable ? partitionKey(movable) : ''} to ${to} (${other.length})`)
    }
  }
}

/** Runs cooperative rebalances until nothing is withheld; each round members own what they were given. */
function cooperativeRounds(s: Scenario, maxRounds: number): { rounds: number; result: Map<string, TopicPartition[]> } {
  let previous = s.previous
  for (let round = 1; round <= maxRounds; round++) {
    const input = withOwnership({ ...s, previous }, cooperativeStickyAssignor)
    const result = flatAssign(cooperativeStickyAssignor, input)
    const claimed = new Set([...previous.values()].flat().map(partitionKey))
    const given = new Set([...result.values()].flat().map(partitionKey))
    const withheld = subscribedPartitions(input).filter((tp) => !given.has(partitionKey(tp)) && claimed.has(partitionKey(tp)))
    const revoked = [...previous].some(([id, list]) => list.some((tp) => !result.get(id)!.some((x) => partitionKey(x) === partitionKey(tp))))
    if (withheld.length === 0 && !revoked) return { rounds: round, result }
    previous = result
  }
  throw new Error(`no convergence in ${maxRounds} rounds`)
}

const RUNS = { numRuns: 300 }

describe('assignor properties', () => {
  for (const assignor of [rangeAssignor, roundRobinAssignor, stickyAssignor]) {
    it(`${assignor.name}: every subscribed partition goes to exactly one of its subscribers`, () => {
      fc.assert(
        fc.property(scenario, (s) => {
          const input = withOwnership(s, assignor)
          assertValid(input, flatAssign(assignor, input), true)
        }),
        RUNS,
      )
    })
  }

  for (const assignor of [roundRobinAssignor, stickyAssignor, cooperativeStickyAssignor]) {
    it(`${assignor.name}: uniform subscriptions are balanced to within one partition`, () => {
      fc.assert(
        fc.property(scenario, (s) => {
          if (!s.uniform) return
          const result = assignor === cooperativeStickyAssignor ? cooperativeRounds(s, 3).result : flatAssign(assignor, withOwnership(s, assignor))
          const c = counts(result)
          assert.ok(Math.max(...c) - Math.min(...c) <= 1, `counts ${c.join(',')}`)
        }),
        RUNS,
      )
    })
  }

  it('range: each topic is balanced among its subscribers', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const result = flatAssign(rangeAssignor, s.input)
        for (const topic of s.input.partitionsPerTopic.keys()) {
          const perMember = s.input.members.filter((m) => m.topics.includes(topic)).map((m) => result.get(m.memberId)!.filter((tp) => tp.topic === topic).length)
          if (perMember.length > 0) assert.ok(Math.max(...perMember) - Math.min(...perMember) <= 1)
        }
      }),
      RUNS,
    )
  })

  it('sticky: balanced in Kafka\'s sense for any subscriptions', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const input = withOwnership(s, stickyAssignor)
        assertBalanced(input, flatAssign(stickyAssignor, input))
      }),
      RUNS,
    )
  })

  for (const assignor of [stickyAssignor, cooperativeStickyAssignor]) {
    it(`${assignor.name}: keeps as many owned partitions as balance allows (uniform subscriptions)`, () => {
      fc.assert(
        fc.property(scenario, (s) => {
          if (!s.uniform || s.input.members.length === 0) return
          const input = withOwnership(s, assignor)
          const result = flatAssign(assignor, input)
          const total = subscribedPartitions(input).length
          const members = input.members.length
          const floor = Math.floor(total / members)
          const ownedCounts = input.members.map((m) => s.previous.get(m.memberId)!.length)
          const best = ownedCounts.reduce((sum, o) => sum + Math.min(o, floor), 0) + Math.min(total % members, ownedCounts.filter((o) => o > floor).length)
          let kept = 0
          for (const [id, list] of result) {
            const prev = new Set(s.previous.get(id)!.map(partitionKey))
            kept += list.filter((tp) => prev.has(partitionKey(tp))).length
          }
          assert.equal(kept, best)
        }),
        RUNS,
      )
    })

    it(`${assignor.name}: a complete, balanced assignment is kept unchanged`, () => {
      fc.assert(
        fc.property(scenario, (s) => {
          const first = flatAssign(assignor, withOwnership({ ...s, previous: new Map(s.input.members.map((m) => [m.memberId, []])) }, assignor))
          const again = flatAssign(assignor, withOwnership({ ...s, previous: first }, assignor))
          assert.deepEqual(again, first)
        }),
        RUNS,
      )
    })
  }

  it('cooperative-sticky: never gives a partition to a new member while another still owns it', () => {
    const claims = fc.record({
      s: scenario,
      // Arbitrary, overlapping and stale claims: members from different generations, or a broken client.
      extra: fc.array(fc.record({ member: fc.nat(), topic: fc.constantFrom('t0', 't1', 'gone'), partition: fc.nat({ max: 10 }) }), { maxLength: 12 }),
      generations: fc.array(fc.integer({ min: -1, max: 3 }), { minLength: 7, maxLength: 7 }),
    })
    fc.assert(
      fc.property(claims, ({ s, extra, generations }) => {
        const previous = new Map([...s.previous].map(([id, l]) => [id, [...l]]))
        const ids = s.input.members.map((m) => m.memberId)
        for (const c of extra) previous.get(ids[c.member % ids.length]!)!.push({ topic: c.topic, partition: c.partition })
        const input = withOwnership({ ...s, previous }, cooperativeStickyAssignor)
        input.members.forEach((m, i) => Object.assign(m, { generationId: generations[i]! }))
        const result = flatAssign(cooperativeStickyAssignor, input)
        assertValid(input, result, false)
        for (const [id, list] of result) {
          for (const tp of list) {
            const claimants = ids.filter((other) => previous.get(other)!.some((x) => partitionKey(x) === partitionKey(tp)))
            assert.ok(claimants.length === 0 || claimants.includes(id), `${partitionKey(tp)} given to ${id} while ${claimants.join(',')} own it`)
          }
        }
      }),
      RUNS,
    )
  })

  it('cooperative-sticky: follow-up rebalances converge to a complete, balanced assignment', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { rounds, result } = cooperativeRounds(s, 4)
        assertValid(s.input, result, true)
        assertBalanced(s.input, result)
        if (s.uniform) assert.ok(rounds <= 2, `uniform subscriptions took ${rounds} rounds`)
      }),
      RUNS,
    )
  })
})
