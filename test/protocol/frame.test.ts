import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DecodeError, EncodeError } from '../../src/protocol/errors/base.js'
import {
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeRequestChunks,
  encodeResponse,
  encodeResponseChunks,
  peekCorrelationId,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../../src/protocol/frame.js'
import { ApiVersions, Fetch, Metadata, Produce } from '../../src/protocol/generated/index.js'

describe('frames', () => {
  it('picks header versions from the api version: flexible ones carry tagged fields', () => {
    assert.equal(requestHeaderVersion(Metadata, 8), 1)
    assert.equal(requestHeaderVersion(Metadata, 9), 2)
    assert.equal(responseHeaderVersion(Metadata, 8), 0)
    assert.equal(responseHeaderVersion(Metadata, 9), 1)
    // ApiVersions answers with header v0 at every version so a downgrade can always be read (KIP-511).
    assert.equal(responseHeaderVersion(ApiVersions, 3), 0)
    assert.equal(requestHeaderVersion(ApiVersions, 3), 2)
  })

  it('round-trips a request: size prefix, header and body', () => {
    const frame = encodeRequest(Produce, 9, { correlationId: 42, clientId: 'orders-app' }, {
      acks: -1,
      timeoutMs: 30000,
      topicData: [{ name: 'orders', partitionData: [{ index: 3, records: Buffer.from([1, 2, 3]) }] }],
    })
    assert.equal(frame.readInt32BE(0), frame.length - 4)
    const { header, api, body } = decodeRequestHeader(frame.subarray(4))
    assert.deepEqual(header, { requestApiKey: 0, requestApiVersion: 9, correlationId: 42, clientId: 'orders-app' })
    assert.equal(api, Produce)
    const request = decodeRequestBody(Produce, 9, body)
    assert.equal(request.transactionalId, null)
    assert.equal(request.topicData[0]?.partitionData[0]?.index, 3)
    assert.deepEqual(request.topicData[0]?.partitionData[0]?.records, Buffer.from([1, 2, 3]))
  })

  it('gives the same bytes in pieces, large byte fields by reference and not copied', () => {
    const large: Buffer[] = [Buffer.alloc(5000, 7), Buffer.alloc(4096, 9)]
    for (const version of [3, 9]) {
      const body = {
        acks: -1 as const,
        timeoutMs: 30000,
        topicData: [{ name: 'orders', partitionData: [{ index: 0, records: large[0]! }, { index: 1, records: Buffer.from([1, 2, 3]) }, { index: 2, records: large[1]! }] }],
      }
      const whole = encodeRequest(Produce, version, { correlationId: 7, clientId: 'app' }, body)
      const pieces = encodeRequestChunks(Produce, version, { correlationId: 7, clientId: 'app' }, body, { shareFrom: 4096 })
      assert.deepEqual(Buffer.concat(pieces), whole, `v${version}`)
      // The batches are pieces of their own (the same memory), the small one was copied.
      assert.ok(pieces.includes(large[0]!) && pieces.includes(large[1]!))
      const copied = pieces.filter((piece) => !large.includes(piece)).reduce((sum, piece) => sum + piece.length, 0)
      assert.ok(copied < 100, `${copied} bytes copied into the frame's own buffer`)
    }
  })

  it('writes ApiVersions v3 as Kafka does: classic client id, compact body', () => {
    const frame = encodeRequest(ApiVersions, 3, { correlationId: 1, clientId: 'c' }, { clientSoftwareName: 'baton', clientSoftwareVersion: '1' })
    // size, key 18, version 3, correlation 1, client id "c" (int16 length), empty header tags,
    // then compact strings "baton" and "1" and empty body tags.
    const expected = Buffer.from([0, 0, 0, 21, 0, 18, 0, 3, 0, 0, 0, 1, 0, 1, 0x63, 0, 6, 0x62, 0x61, 0x74, 0x6f, 0x6e, 2, 0x31, 0])
    assert.deepEqual(frame, expected)
  })

  it('still reads the header of an unknown api key or version, for an error answer', () => {
    const frame = encodeRequest(Metadata, 4, { correlationId: 7, clientId: null }, { topics: null, allowAutoTopicCreation: true })
    const unknown = Buffer.from(frame.subarray(4))
    unknown.writeInt16BE(999, 0)
    const decoded = decodeRequestHeader(unknown)
    assert.equal(decoded.api, undefined)
    assert.equal(decoded.header.correlationId, 7)

    const tooNew = Buffer.from(frame.subarray(4))
    tooNew.writeInt16BE(99, 2)
    const newer = decodeRequestHeader(tooNew)
    assert.equal(newer.api, Metadata)
    assert.throws(() => decodeRequestBody(Metadata, 99, newer.body), (e: unknown) => e instanceof DecodeError && e.code === 'DECODE_UNSUPPORTED_VERSION')
  })

  it('round-trips a response and matches it by correlation id', () => {
    const frame = encodeResponse(Fetch, 12, 99, { responses: [], throttleTimeMs: 0, errorCode: 0, sessionId: 5 })
    assert.equal(peekCorrelationId(frame.subarray(4)), 99)
    const { correlationId, body } = decodeResponse(Fetch, 12, frame.subarray(4))
    assert.equal(correlationId, 99)
    assert.equal(body.sessionId, 5)
    assert.equal(body.responses.length, 0)
  })

  it('encodes a response in pieces that join into the one-buffer frame, large records shared, not copied', () => {
    const records = Buffer.alloc(40_000, 3)
    const body = {
      responses: [{ topic: 't', partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 10n, records }, { partitionIndex: 1, errorCode: 0, highWatermark: 1n, records: Buffer.alloc(10, 4) }] }],
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 5,
    }
    const chunks = encodeResponseChunks(Fetch, 12, 7, body, 16 * 1024)
    assert.ok(Buffer.concat(chunks).equals(encodeResponse(Fetch, 12, 7, body)))
    assert.ok(chunks.some((chunk) => chunk === records))
    const decoded = decodeResponse(Fetch, 12, Buffer.concat(chunks).subarray(4)).body
    assert.ok(decoded.responses[0]!.partitions[0]!.records!.equals(records))
  })

  it('refuses to encode a version the API lacks, or a field the version cannot carry', () => {
    assert.throws(() => encodeRequest(Metadata, 99, { correlationId: 1, clientId: null }, { topics: null }), EncodeError)
    // A transactional id needs Produce v3+.
    assert.throws(
      () => encodeRequest(Produce, 2, { correlationId: 1, clientId: null }, { transactionalId: 'tx', acks: 1, timeoutMs: 1, topicData: [] }),
      EncodeError,
    )
  })

  it('ignores bytes after a request body, as Kafka brokers do', () => {
    // librdkafka 2.15 sends exactly this Metadata v12 request (all topics) with three extra bytes.
    const frame = Buffer.from('0003000c00000003000772646b61666b61000000000000010000', 'hex')
    const { header, body } = decodeRequestHeader(frame)
    assert.equal(header.clientId, 'rdkafka')
    const request = decodeRequestBody(Metadata, 12, body)
    assert.equal(request.topics, null)
    assert.equal(request.allowAutoTopicCreation, false)
  })

  it('rejects trailing bytes after a response body: the answer was not what was asked', () => {
    const frame = encodeResponse(Metadata, 4, 7, { brokers: [], topics: [], controllerId: 0, clusterId: null })
    const padded = Buffer.concat([frame.subarray(4), Buffer.from([0])])
    assert.throws(() => decodeResponse(Metadata, 4, padded), (e: unknown) => e instanceof DecodeError && e.code === 'DECODE_TRAILING_BYTES')
  })
})
