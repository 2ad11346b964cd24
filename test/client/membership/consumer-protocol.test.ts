/**
 * The consumer protocol's subscription and assignment bytes: every version round-trips, bytes from
 * KafkaJS decode (and ours decode in KafkaJS), and versions newer than ours are read for the fields
 * we know, as Kafka's clients read them.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import kafkajs from 'kafkajs'
import {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  LATEST_SUBSCRIPTION_VERSION,
} from '../../../src/client/membership/consumer-protocol.js'
import { ConsumerProtocolError } from '../../../src/client/membership/errors.js'
import { Writer } from '../../../src/protocol/primitives/writer.js'

const topicPartitions = fc.array(
  fc.record({ topic: fc.string({ minLength: 1, maxLength: 8 }), partitions: fc.array(fc.nat({ max: 1000 }), { maxLength: 5 }) }).map((tp) => ({ ...tp })),
  { maxLength: 4 },
)

describe('consumer protocol subscription', () => {
  it('round-trips every field the version carries', () => {
    fc.assert(
      fc.property(
        fc.record({
          topics: fc.array(fc.string({ maxLength: 8 }), { maxLength: 5 }),
          userData: fc.option(fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)), { nil: null }),
          ownedPartitions: topicPartitions,
          generationId: fc.integer({ min: -1, max: 1 << 30 }),
          rackId: fc.option(fc.string({ maxLength: 5 }), { nil: null }),
        }),
        fc.integer({ min: 0, max: LATEST_SUBSCRIPTION_VERSION }),
        (sub, version) => {
          const decoded = decodeSubscription(encodeSubscription(sub, version))
          assert.equal(decoded.version, version)
          assert.deepEqual(decoded.topics, sub.topics)
          assert.deepEqual(decoded.userData, sub.userData)
          assert.deepEqual(decoded.ownedPartitions, version >= 1 ? sub.ownedPartitions : [])
          assert.equal(decoded.generationId, version >= 2 ? sub.generationId : -1)
          assert.equal(decoded.rackId, version >= 3 ? sub.rackId : null)
        },
      ),
    )
  })

  it('reads a newer version by the fields it knows and ignores what follows', () => {
    const v3 = encodeSubscription({ topics: ['a'], ownedPartitions: [{ topic: 'a', partitions: [1] }], generationId: 4, rackId: 'r1' }, 3)
    const v9 = Buffer.concat([Buffer.from([0, 9]), v3.subarray(2), Buffer.from('future fields')])
    const decoded = decodeSubscription(v9)
    assert.equal(decoded.version, 9)
    assert.deepEqual(decoded.topics, ['a'])
    assert.deepEqual(decoded.ownedPartitions, [{ topic: 'a', partitions: [1] }])
    assert.equal(decoded.generationId, 4)
    assert.equal(decoded.rackId, 'r1')
  })

  it('decodes what KafkaJS sends, and KafkaJS decodes ours', () => {
    const theirs = kafkajs.AssignerProtocol.MemberMetadata.encode({ version: 0, topics: ['x', 'y'], userData: Buffer.from('hi') })
    const decoded = decodeSubscription(theirs)
    assert.deepEqual([decoded.topics, decoded.userData?.toString()], [['x', 'y'], 'hi'])
    const ours = kafkajs.AssignerProtocol.MemberMetadata.decode(encodeSubscription({ topics: ['x'], userData: Buffer.from('u') }))
    assert.deepEqual([ours?.version, ours?.topics, ours?.userData.toString()], [LATEST_SUBSCRIPTION_VERSION, ['x'], 'u'])
  })

  it('rejects truncated bytes and negative versions with a typed error', () => {
    const bytes = encodeSubscription({ topics: ['topic'] })
    assert.throws(() => decodeSubscription(bytes.subarray(0, bytes.length - 3)), ConsumerProtocolError)
    assert.throws(() => decodeSubscription(Buffer.from([0xff, 0xff, 0, 0, 0, 0])), ConsumerProtocolError)
    assert.throws(() => encodeSubscription({ topics: [] }, 4), RangeError)
  })
})

describe('consumer protocol assignment', () => {
  it('round-trips at every version', () => {
    fc.assert(
      fc.property(topicPartitions, fc.integer({ min: 0, max: 3 }), (partitions, version) => {
        const decoded = decodeAssignment(encodeAssignment({ partitions, userData: Buffer.from('d') }, version))
        assert.deepEqual(decoded, { partitions, userData: Buffer.from('d'), version })
      }),
    )
  })

  it('decodes KafkaJS assignments and zero bytes as an empty assignment', () => {
    const theirs = kafkajs.AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: { t: [0, 2] }, userData: Buffer.alloc(0) })
    assert.deepEqual(decodeAssignment(theirs).partitions, [{ topic: 't', partitions: [0, 2] }])
    assert.deepEqual(decodeAssignment(Buffer.alloc(0)).partitions, [])
    const ours = kafkajs.AssignerProtocol.MemberAssignment.decode(encodeAssignment({ partitions: [{ topic: 't', partitions: [3] }], userData: null }))
    assert.deepEqual(ours?.assignment, { t: [3] })
  })

  it('reads a newer version, ignoring trailing fields', () => {
    const w = new Writer().int16(7).int32(1).string('t').int32(1).int32(5).int32(-1).string('later')
    assert.deepEqual(decodeAssignment(w.finish()).partitions, [{ topic: 't', partitions: [5] }])
  })
})
