import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { BatonError } from '../../../src/protocol/errors/base.js'
import {
  KAFKA_ERRORS,
  KafkaError,
  KafkaErrorCode,
  errorName,
  isKafkaError,
  isRetriable,
  kafkaError,
} from '../../../src/protocol/errors/kafka-errors.js'
import type { KafkaErrorName } from '../../../src/protocol/errors/kafka-errors.js'

// node:test's runner awaits describe/it itself, hence `void`.
// Expected values are written out from Kafka's table (Errors.java at 1eb7644, the commit of the shared
// protocol reference), not derived from the module under test, so a wrong row or flag fails here.
void describe('KAFKA_ERRORS table', () => {
  void it('has the well-known codes with their names and retriable flags', () => {
    const expected: [number, KafkaErrorName, boolean][] = [
      [-1, 'UNKNOWN_SERVER_ERROR', false],
      [0, 'NONE', false],
      [1, 'OFFSET_OUT_OF_RANGE', false],
      [2, 'CORRUPT_MESSAGE', true],
      [3, 'UNKNOWN_TOPIC_OR_PARTITION', true],
      [6, 'NOT_LEADER_OR_FOLLOWER', true],
      [10, 'MESSAGE_TOO_LARGE', false],
      [15, 'COORDINATOR_NOT_AVAILABLE', true],
      [16, 'NOT_COORDINATOR', true],
      [22, 'ILLEGAL_GENERATION', false],
      [25, 'UNKNOWN_MEMBER_ID', false],
      [27, 'REBALANCE_IN_PROGRESS', false],
      [29, 'TOPIC_AUTHORIZATION_FAILED', false],
      [35, 'UNSUPPORTED_VERSION', false],
      [47, 'INVALID_PRODUCER_EPOCH', false],
      [58, 'SASL_AUTHENTICATION_FAILED', false],
      [82, 'FENCED_INSTANCE_ID', false],
      [90, 'PRODUCER_FENCED', false],
      [113, 'STALE_MEMBER_EPOCH', false],
      [128, 'INVALID_REGULAR_EXPRESSION', false],
    ]
    for (const [code, name, retriable] of expected) {
      assert.deepEqual(KAFKA_ERRORS[code], { code, name, retriable }, `code ${code}`)
      assert.equal(KafkaErrorCode[name], code)
      assert.equal(errorName(code), name)
      assert.equal(isRetriable(code), retriable, `isRetriable(${code})`)
    }
  })

  void it('marks exactly Kafka’s retriable codes as retriable', () => {
    const retriable = Object.values(KAFKA_ERRORS)
      .filter((e) => e.retriable)
      .map((e) => e.code)
      .sort((a, b) => a - b)
    assert.deepEqual(
      retriable,
      [2, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75, 78, 80, 83, 84, 88, 89, 100, 103, 106, 122, 123],
    )
  })

  void it('is contiguous from -1 to 128, like Kafka’s, with unique names and codes', () => {
    const rows = Object.values(KAFKA_ERRORS)
    const codes = rows.map((e) => e.code).sort((a, b) => a - b)
    assert.equal(rows.length, 130)
    assert.deepEqual(codes, Array.from({ length: 130 }, (_, i) => i - 1))
    assert.equal(new Set(rows.map((e) => e.name)).size, rows.length)
    for (const [key, row] of Object.entries(KAFKA_ERRORS)) assert.equal(Number(key), row.code)
  })

  void it('KafkaErrorCode mirrors the table, name for name', () => {
    const entries = Object.entries(KafkaErrorCode)
    assert.equal(entries.length, 130)
    for (const [name, code] of entries) assert.equal(KAFKA_ERRORS[code]?.name, name)
    assert.equal(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER, 6)
    assert.equal(KafkaErrorCode.REBALANCE_IN_PROGRESS, 27)
  })

  void it('cannot be mutated', () => {
    assert.ok(Object.isFrozen(KAFKA_ERRORS))
    assert.ok(Object.isFrozen(KAFKA_ERRORS[6]))
    assert.ok(Object.isFrozen(KafkaErrorCode))
    assert.throws(() => {
      ;(KAFKA_ERRORS[6] as { retriable: boolean }).retriable = false
    }, TypeError)
    assert.equal(isRetriable(6), true)
  })

  void it('names unknown codes and treats them as not retriable', () => {
    assert.equal(KAFKA_ERRORS[999], undefined)
    assert.equal(errorName(999), 'UNKNOWN_ERROR_CODE_999')
    assert.equal(errorName(-42), 'UNKNOWN_ERROR_CODE_-42')
    assert.equal(isRetriable(999), false)
    assert.equal(isRetriable(32767), false)
  })
})

void describe('KafkaError', () => {
  void it('is a BatonError with Kafka’s code, name and flag', () => {
    const err = kafkaError(KafkaErrorCode.NOT_LEADER_OR_FOLLOWER)
    assert.ok(err instanceof KafkaError)
    assert.ok(err instanceof BatonError)
    assert.ok(err instanceof Error)
    assert.equal(err.name, 'KafkaError')
    assert.equal(err.code, 'KAFKA_NOT_LEADER_OR_FOLLOWER')
    assert.equal(err.errorCode, 6)
    assert.equal(err.errorName, 'NOT_LEADER_OR_FOLLOWER')
    assert.equal(err.retriable, true)
  })

  void it('is not retriable for MESSAGE_TOO_LARGE and REBALANCE_IN_PROGRESS', () => {
    assert.equal(kafkaError(10).retriable, false)
    assert.equal(kafkaError(27).retriable, false)
    assert.equal(kafkaError(27).code, 'KAFKA_REBALANCE_IN_PROGRESS')
  })

  void it('says what was being done, the broker’s own message and what to do', () => {
    const err = kafkaError(KafkaErrorCode.MESSAGE_TOO_LARGE, {
      api: 'Produce',
      topic: 'orders',
      partition: 3,
      broker: 2,
      errorMessage: 'batch of 2 MB',
    })
    assert.equal(err.api, 'Produce')
    assert.equal(err.topic, 'orders')
    assert.equal(err.partition, 3)
    assert.equal(err.broker, 2)
    assert.equal(err.errorMessage, 'batch of 2 MB')
    assert.match(
      err.message,
      /^Produce \(topic "orders", partition 3, broker 2\) failed with MESSAGE_TOO_LARGE \(Kafka error 10, not retriable\); broker said: "batch of 2 MB"\. /,
    )
    assert.match(err.message, /max\.message\.bytes/)
    assert.equal(err.hint !== undefined && err.message.endsWith(err.hint), true)
  })

  void it('names the group and transactional id when given', () => {
    const commit = kafkaError(KafkaErrorCode.ILLEGAL_GENERATION, { api: 'OffsetCommit', groupId: 'billing', broker: 'localhost:9092' })
    assert.equal(commit.groupId, 'billing')
    assert.match(commit.message, /^OffsetCommit \(group "billing", broker localhost:9092\) failed with ILLEGAL_GENERATION/)
    assert.match(commit.message, /[Rr]ejoin the group/)

    const fenced = kafkaError(KafkaErrorCode.PRODUCER_FENCED, { api: 'EndTxn', transactionalId: 'tx-1' })
    assert.equal(fenced.transactionalId, 'tx-1')
    assert.match(fenced.message, /transactional id "tx-1"/)
  })

  void it('reads plainly without context and leaves out a null broker message', () => {
    const err = kafkaError(KafkaErrorCode.BROKER_NOT_AVAILABLE, { errorMessage: null })
    assert.equal(err.message, 'Kafka request failed with BROKER_NOT_AVAILABLE (Kafka error 8, not retriable).')
    assert.equal(err.errorMessage, undefined)
    assert.equal(err.hint, undefined)
  })

  void it('keeps free-form names on one line', () => {
    const err = kafkaError(KafkaErrorCode.GROUP_AUTHORIZATION_FAILED, { groupId: 'a"b\nc' })
    assert.ok(!err.message.includes('\n'))
    assert.ok(err.message.includes(String.raw`group "a\"b\nc"`))
  })

  void it('has a hint for the errors users meet most', () => {
    const common: KafkaErrorName[] = [
      'OFFSET_OUT_OF_RANGE',
      'UNKNOWN_TOPIC_OR_PARTITION',
      'NOT_LEADER_OR_FOLLOWER',
      'MESSAGE_TOO_LARGE',
      'COORDINATOR_NOT_AVAILABLE',
      'NOT_COORDINATOR',
      'ILLEGAL_GENERATION',
      'UNKNOWN_MEMBER_ID',
      'REBALANCE_IN_PROGRESS',
      'TOPIC_AUTHORIZATION_FAILED',
      'GROUP_AUTHORIZATION_FAILED',
      'UNSUPPORTED_VERSION',
      'INVALID_PRODUCER_EPOCH',
      'SASL_AUTHENTICATION_FAILED',
      'FENCED_INSTANCE_ID',
      'PRODUCER_FENCED',
    ]
    for (const name of common) {
      const err = kafkaError(KafkaErrorCode[name])
      assert.ok(err.hint !== undefined && err.hint.length > 20, `hint for ${name}`)
      assert.ok(err.message.includes(err.hint), `message of ${name} carries its hint`)
    }
    assert.match(kafkaError(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION).message, /auto\.create\.topics\.enable/)
    assert.match(kafkaError(KafkaErrorCode.FENCED_INSTANCE_ID).message, /group\.instance\.id/)
  })

  void it('handles a code the table lacks', () => {
    const err = kafkaError(999, { api: 'Fetch' })
    assert.equal(err.errorName, 'UNKNOWN_ERROR_CODE_999')
    assert.equal(err.code, 'KAFKA_UNKNOWN_ERROR_CODE_999')
    assert.equal(err.retriable, false)
    assert.match(err.message, /^Fetch failed with UNKNOWN_ERROR_CODE_999 \(Kafka error 999, unknown code, treated as not retriable\)\./)
    assert.match(err.message, /newer than this version of baton/)
  })

  void it('refuses NONE and non-integer codes, which mean the caller skipped a check', () => {
    assert.throws(() => kafkaError(0), RangeError)
    assert.throws(() => kafkaError(1.5), RangeError)
    assert.throws(() => new KafkaError(Number.NaN), RangeError)
  })

  void it('keeps the cause', () => {
    const cause = new Error('socket closed')
    assert.equal(kafkaError(13, {}, { cause }).cause, cause)
  })

  void it('matches with isKafkaError, by code when one is given', () => {
    const err: unknown = kafkaError(KafkaErrorCode.NOT_COORDINATOR)
    assert.equal(isKafkaError(err), true)
    assert.equal(isKafkaError(err, KafkaErrorCode.NOT_COORDINATOR), true)
    assert.equal(isKafkaError(err, KafkaErrorCode.COORDINATOR_NOT_AVAILABLE), false)
    assert.equal(isKafkaError(new BatonError('X', 'x')), false)
    assert.equal(isKafkaError('NOT_COORDINATOR'), false)
  })
})
