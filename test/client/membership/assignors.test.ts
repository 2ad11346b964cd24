/**
 * Known vectors: the assignments Kafka's Java client computes for the same input (range and
 * round-robin are deterministic, so a mixed group must agree exactly), static-member ordering, and
 * the sticky assignors' user data in the layouts the Java client and librdkafka exchange.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  cooperativeStickyAssignor,
  decodeCooperativeGeneration,
  decodeStickyUserData,
  encodeStickyUserData,
  rangeAssignor,
  roundRobinAssignor,
  stickyAssignor,
} from '../../../src/client/membership/assignors/index.js'
import { labels, member, topicsOf } from './assignor-helpers.js'

describe('range assignor', () => {
  it('gives each subscriber a contiguous range per topic, the first members one more', () => {
    const input = { members: [member('c2', ['t1', 't2']), member('c1', ['t1', 't2'])], partitionsPerTopic: topicsOf({ t1: 3, t2: 3 }) }
    assert.deepEqual(labels(rangeAssignor, input), { c2: ['t1-2', 't2-2'], c1: ['t1-0', 't1-1', 't2-0', 't2-1'] })
  })

  it('splits each topic among its own subscribers only', () => {
    const input = {
      members: [member('a', ['t1']), member('b', ['t1', 't2']), member('c', ['t2'])],
      partitionsPerTopic: topicsOf({ t1: 3, t2: 2 }),
    }
    assert.deepEqual(labels(rangeAssignor, input), { a: ['t1-0', 't1-1'], b: ['t1-2', 't2-0'], c: ['t2-1'] })
  })

  it('orders static members by instance id before dynamic ones, so a restart keeps the ranges', () => {
    const input = {
      members: [
        member('zzz-dynamic', ['t']),
        member('m-2', ['t'], { groupInstanceId: 'instance-b' }),
        member('m-9', ['t'], { groupInstanceId: 'instance-a' }),
      ],
      partitionsPerTopic: topicsOf({ t: 3 }),
    }
    assert.deepEqual(labels(rangeAssignor, input), { 'zzz-dynamic': ['t-2'], 'm-2': ['t-1'], 'm-9': ['t-0'] })
  })

  it('gives nothing for topics that do not exist and members subscribed to nothing', () => {
    const input = { members: [member('a', ['missing']), member('b', [])], partitionsPerTopic: topicsOf({ other: 2 }) }
    assert.deepEqual(labels(rangeAssignor, input), { a: [], b: [] })
  })
})

describe('round-robin assignor', () => {
  it('deals partitions of all topics in name order across members', () => {
    const input = { members: [member('c1', ['t1', 't2']), member('c2', ['t1', 't2'])], partitionsPerTopic: topicsOf({ t2: 3, t1: 3 }) }
    assert.deepEqual(labels(roundRobinAssignor, input), { c1: ['t1-0', 't1-2', 't2-1'], c2: ['t1-1', 't2-0', 't2-2'] })
  })

  it('skips members not subscribed to a topic, keeping the turn across topics', () => {
    const input = {
      members: [member('consumer1', ['topic1']), member('consumer2', ['topic1', 'topic2']), member('consumer3', ['topic1'])],
      partitionsPerTopic: topicsOf({ topic1: 3, topic2: 2 }),
    }
    assert.deepEqual(labels(roundRobinAssignor, input), {
      consumer1: ['topic1-0'],
      consumer2: ['topic1-1', 'topic2-0', 'topic2-1'],
      consumer3: ['topic1-2'],
    })
  })

  it('compares member ids by UTF-16 code units, as Java does, not by locale', () => {
    const input = { members: [member('a', ['t']), member('B', ['t'])], partitionsPerTopic: topicsOf({ t: 2 }) }
    assert.deepEqual(labels(roundRobinAssignor, input), { a: ['t-1'], B: ['t-0'] })
  })
})

describe('sticky assignors', () => {
  it('balance a scenario round-robin handles poorly (from Kafka\'s sticky assignor tests)', () => {
    const all = ['topic1', 'topic2', 'topic3', 'topic4', 'topic5']
    const input = {
      members: [
        member('consumer1', all),
        member('consumer2', ['topic1', 'topic3', 'topic5']),
        member('consumer3', ['topic1', 'topic3', 'topic5']),
        member('consumer4', all),
      ],
      partitionsPerTopic: topicsOf({ topic1: 2, topic2: 1, topic3: 2, topic4: 1, topic5: 2 }),
    }
    for (const assignor of [stickyAssignor, cooperativeStickyAssignor]) {
      const result = labels(assignor, input)
      assert.deepEqual(Object.values(result).map((l) => l.length), [2, 2, 2, 2], assignor.name)
      assert.ok(['topic2-0', 'topic4-0'].every((p) => [...result.consumer1!, ...result.consumer4!].includes(p)))
    }
  })

  it('sticky keeps the previous assignment carried in user data when a member joins', () => {
    const prev = (gen: number, partitions: number[]) =>
      encodeStickyUserData({ previousAssignment: [{ topic: 't', partitions }], generationId: gen })
    const input = {
      members: [member('a', ['t'], { userData: prev(3, [0, 1, 2]) }), member('b', ['t'], { userData: prev(3, [3, 4, 5]) }), member('c', ['t'])],
      partitionsPerTopic: topicsOf({ t: 6 }),
    }
    const result = labels(stickyAssignor, input)
    assert.deepEqual(result, { a: ['t-0', 't-1'], b: ['t-3', 't-4'], c: ['t-2', 't-5'] })
  })

  it('cooperative-sticky withholds a moving partition until its owner has revoked it', () => {
    const input = {
      members: [
        member('a', ['t'], { ownedPartitions: [{ topic: 't', partitions: [0, 1, 2] }], generationId: 4 }),
        member('b', ['t'], { ownedPartitions: [{ topic: 't', partitions: [3] }], generationId: 4 }),
      ],
      partitionsPerTopic: topicsOf({ t: 4 }),
    }
    assert.deepEqual(labels(cooperativeStickyAssignor, input), { a: ['t-0', 't-1'], b: ['t-3'] })
    const followUp = {
      members: [
        member('a', ['t'], { ownedPartitions: [{ topic: 't', partitions: [0, 1] }], generationId: 5 }),
        member('b', ['t'], { ownedPartitions: [{ topic: 't', partitions: [3] }], generationId: 5 }),
      ],
      partitionsPerTopic: topicsOf({ t: 4 }),
    }
    assert.deepEqual(labels(cooperativeStickyAssignor, followUp), { a: ['t-0', 't-1'], b: ['t-2', 't-3'] })
  })

  it('a partition claimed by two members of one generation is kept by neither', () => {
    const claim = { ownedPartitions: [{ topic: 't', partitions: [0] }], generationId: 2 }
    const input = { members: [member('a', ['t'], claim), member('b', ['t'], claim)], partitionsPerTopic: topicsOf({ t: 2 }) }
    // The sticky result may place t-0 anywhere; the cooperative one may give it to a claimant only.
    const result = labels(cooperativeStickyAssignor, input)
    assert.equal(result.a!.length + result.b!.length, 2)
  })

  it('the higher generation wins a disputed partition', () => {
    const input = {
      members: [
        member('a', ['t'], { ownedPartitions: [{ topic: 't', partitions: [0, 1] }], generationId: 7 }),
        member('b', ['t'], { ownedPartitions: [{ topic: 't', partitions: [0] }], generationId: 6 }),
      ],
      partitionsPerTopic: topicsOf({ t: 2 }),
    }
    const result = labels(stickyAssignor, {
      ...input,
      members: input.members.map((m) => ({ ...m, userData: encodeStickyUserData({ previousAssignment: [...m.ownedPartitions], generationId: m.generationId }) })),
    })
    assert.ok(result.a!.includes('t-0'), 'a has generation 7 and keeps t-0')
  })
})

describe('sticky user data', () => {
  it('encodes the previous assignment and generation in the layout Java and librdkafka use', () => {
    const bytes = encodeStickyUserData({ previousAssignment: [{ topic: 'ab', partitions: [1, 2] }], generationId: 9 })
    assert.equal(bytes.toString('hex'), '00000001' + '0002' + '6162' + '00000002' + '00000001' + '00000002' + '00000009')
    assert.deepEqual(decodeStickyUserData(bytes), { previousAssignment: [{ topic: 'ab', partitions: [1, 2] }], generationId: 9 })
  })

  it('reads the older layout without a generation', () => {
    const bytes = Buffer.from('00000001' + '0001' + '78' + '00000001' + '00000003', 'hex')
    assert.deepEqual(decodeStickyUserData(bytes), { previousAssignment: [{ topic: 'x', partitions: [3] }], generationId: -1 })
  })

  it('treats unreadable user data as no previous assignment', () => {
    assert.equal(decodeStickyUserData(Buffer.from([0, 0, 0, 5, 1])), null)
    assert.equal(decodeStickyUserData(Buffer.from('00000000000000010000', 'hex')), null)
  })

  it('reads a cooperative member\'s generation from Java\'s int32 or librdkafka\'s sticky layout', () => {
    assert.equal(decodeCooperativeGeneration(Buffer.from('0000000c', 'hex')), 12)
    const librdkafka = encodeStickyUserData({ previousAssignment: [{ topic: 't', partitions: [0] }], generationId: 8 })
    assert.equal(decodeCooperativeGeneration(librdkafka), 8)
    assert.equal(decodeCooperativeGeneration(Buffer.from([1, 2])), -1)
  })

  it('sticky sends no user data before its first assignment, cooperative-sticky sends its generation', () => {
    assert.equal(stickyAssignor.subscriptionUserData?.({ generationId: -1, assigned: [] }), null)
    assert.deepEqual(cooperativeStickyAssignor.subscriptionUserData?.({ generationId: 3, assigned: [] }), Buffer.from('00000003', 'hex'))
  })
})
