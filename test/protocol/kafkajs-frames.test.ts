/**
 * Conformance with bytes no code here produced: request frames KafkaJS 2.2.4 sent to a listener,
 * captured by `scripts/capture-kafkajs-frames.ts` into `test/fixtures/kafkajs/`.
 *
 * For each frame: baton decodes the header and the body (every byte consumed), the decoded fields
 * are the ones the capture script asked KafkaJS to send, and encoding the decoded request again at
 * the same version gives KafkaJS's bytes exactly. No frame needs an exception: KafkaJS sends no
 * field baton would drop or write differently, so any byte difference is a codec bug.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { ApiSpec } from '../../src/protocol/codec-runtime.js'
import { decodeRequestBody, decodeRequestHeader, encodeRequest } from '../../src/protocol/frame.js'
import {
  AddOffsetsToTxn, AddPartitionsToTxn, AlterConfigs, AlterPartitionReassignments, ApiVersions, ConsumerProtocolAssignmentCodec,
  ConsumerProtocolSubscriptionCodec, CreateAcls, CreatePartitions, CreateTopics, DeleteAcls, DeleteGroups, DeleteRecords,
  DeleteTopics, DescribeAcls, DescribeConfigs, DescribeGroups, EndTxn, Fetch, FindCoordinator, Heartbeat, InitProducerId,
  JoinGroup, LeaveGroup, ListGroups, ListOffsets, ListPartitionReassignments, Metadata, OffsetCommit, OffsetFetch, Produce,
  SaslAuthenticate, SaslHandshake, SyncGroup, TxnOffsetCommit, apiSpecByKey,
} from '../../src/protocol/generated/index.js'
import { Reader } from '../../src/protocol/primitives/reader.js'
import { decodeRecordBatches } from '../../src/protocol/records/index.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'kafkajs')

// What the capture script told KafkaJS to use.
const CLIENT_ID = 'baton-fixtures'
const TOPIC = 'baton-fixtures-topic'
const GROUP_ID = 'baton-fixtures-group'
const TRANSACTIONAL_ID = 'baton-fixtures-txn'
/** Assigned by the capture listener in JoinGroup and InitProducerId responses. */
const MEMBER_ID = 'baton-fixtures-member-1'
const PRODUCER_ID = 4242n
/** The topic had 2 partitions, grown to 3 by CreatePartitions. */
const PARTITIONS = [0, 1, 2]
// Kafka's numbering for ACL and config resources (KIP-140, KIP-133).
const RESOURCE_TOPIC = 2
const PATTERN_LITERAL = 3
const OPERATION_READ = 3
const PERMISSION_ALLOW = 3
/** KafkaJS reads with isolation READ_COMMITTED unless told otherwise. */
const READ_COMMITTED = 1

interface FixtureEntry {
  apiKey: number
  apiName: string
  version: number
  variant?: string
  file: string
}

interface FixtureIndex {
  client: string
  clientVersion: string
  clientId: string
  frames: FixtureEntry[]
}

const index = JSON.parse(readFileSync(join(FIXTURES, 'index.json'), 'utf8')) as FixtureIndex

/** Decodes a body and checks the fields KafkaJS was asked to send; returns the request for re-encoding. */
interface Expectation {
  decodeAndVerify(version: number, body: Reader, entry: FixtureEntry): unknown
}

function expectFields<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, verify: (request: Req, entry: FixtureEntry) => void): [number, Expectation] {
  return [api.apiKey, {
    decodeAndVerify(version, body, entry) {
      const request = decodeRequestBody(api, version, body)
      verify(request, entry)
      return request
    },
  }]
}

/** The embedded consumer protocol structures start with their own int16 version. */
function decodeEmbedded<T>(codec: { decode(r: Reader, version: number): T }, bytes: Buffer): T {
  const r = new Reader(bytes)
  const value = codec.decode(r, r.int16())
  r.expectEnd('embedded consumer protocol structure')
  return value
}

function verifyProducedRecords(records: Buffer | null, version: number, transactional: boolean): void {
  assert.ok(records !== null, 'a produce request carries records')
  const { batches, partialBatch } = decodeRecordBatches(records)
  assert.equal(partialBatch, null)
  assert.equal(batches.length, 1)
  const [batch] = batches
  assert.ok(batch !== undefined && !batch.isControl)
  // Produce v0-1 carry magic 0 message sets, v2 magic 1 (KIP-32), v3+ magic 2 batches (KIP-98).
  assert.equal(batch.magic, version >= 3 ? 2 : version === 2 ? 1 : 0)
  assert.equal(batch.isTransactional, transactional)
  if (transactional) {
    assert.equal(batch.producerId, PRODUCER_ID)
    assert.equal(batch.producerEpoch, 0)
    assert.equal(batch.baseSequence, 0)
  }
  const [record] = batch.records
  assert.ok(record !== undefined && batch.records.length === 1)
  assert.equal(record.key?.toString(), transactional ? 'key-2' : 'key-1')
  assert.equal(record.value?.toString(), transactional ? 'value-2' : 'value-1')
  if (version >= 3 && !transactional) {
    assert.deepEqual(record.headers.map((h) => [h.key, h.value?.toString()]), [['origin', 'kafkajs']])
  }
}

const expectations = new Map<number, Expectation>([
  expectFields(Produce, (req, entry) => {
    const transactional = entry.variant === 'transactional'
    assert.equal(req.transactionalId, transactional ? TRANSACTIONAL_ID : null)
    assert.equal(req.acks, -1)
    assert.equal(req.timeoutMs, 30_000)
    const [topic] = req.topicData
    assert.equal(topic?.name, TOPIC)
    const [partition] = topic.partitionData
    assert.equal(partition?.index, transactional ? 1 : 0)
    verifyProducedRecords(partition.records, entry.version, transactional)
  }),
  expectFields(Fetch, (req, { version }) => {
    assert.equal(req.replicaId, -1)
    assert.equal(req.maxWaitMs, 100)
    assert.equal(req.minBytes, 1)
    if (version >= 3) assert.equal(req.maxBytes, 10 * 1024 * 1024)
    if (version >= 4) assert.equal(req.isolationLevel, READ_COMMITTED)
    if (version >= 7) assert.deepEqual([req.sessionId, req.sessionEpoch], [0, -1])
    assert.deepEqual(req.topics.map((t) => t.topic), [TOPIC])
    for (const p of req.topics[0]?.partitions ?? []) {
      assert.ok(PARTITIONS.includes(p.partition))
      assert.ok(p.fetchOffset === 0n || p.fetchOffset === 1n)
      assert.equal(p.partitionMaxBytes, 1024 * 1024)
    }
  }),
  expectFields(ListOffsets, (req, { version }) => {
    assert.equal(req.replicaId, -1)
    if (version >= 2) assert.equal(req.isolationLevel, READ_COMMITTED)
    assert.deepEqual(req.topics.map((t) => t.name), [TOPIC])
    assert.deepEqual(req.topics[0]?.partitions.map((p) => p.partitionIndex), [0, 1])
    // -1 asks for the latest offset, -2 for the earliest.
    for (const p of req.topics[0]?.partitions ?? []) assert.ok(p.timestamp === -1n || p.timestamp === -2n)
  }),
  expectFields(Metadata, (req, { version }) => {
    // The first metadata request of each run: v0 from fetchTopicMetadata, later ones from the
    // admin asking for every topic, which v1+ says with a null array (v0 could not).
    if (version === 0) assert.deepEqual(req.topics?.map((t) => t.name), [TOPIC])
    else assert.equal(req.topics, null)
    if (version >= 4) assert.equal(req.allowAutoTopicCreation, false)
  }),
  expectFields(OffsetCommit, (req, { version }) => {
    assert.equal(req.groupId, GROUP_ID)
    if (version >= 1) assert.deepEqual([req.generationIdOrMemberEpoch, req.memberId], [1, MEMBER_ID])
    assert.deepEqual(req.topics.map((t) => t.name), [TOPIC])
    for (const p of req.topics[0]?.partitions ?? []) {
      assert.ok(PARTITIONS.includes(p.partitionIndex))
      assert.equal(p.committedOffset, 1n)
    }
  }),
  expectFields(OffsetFetch, (req) => {
    assert.equal(req.groupId, GROUP_ID)
    assert.deepEqual(req.topics?.map((t) => [t.name, t.partitionIndexes]), [[TOPIC, [0, 1]]])
  }),
  expectFields(FindCoordinator, (req, entry) => {
    if (entry.variant === 'transaction') assert.deepEqual([req.key, req.keyType], [TRANSACTIONAL_ID, 1])
    else assert.ok(req.key === GROUP_ID || (entry.version === 0 && req.key === TRANSACTIONAL_ID), `unexpected key ${req.key}`)
  }),
  expectFields(JoinGroup, (req, { version }) => {
    assert.equal(req.groupId, GROUP_ID)
    assert.equal(req.sessionTimeoutMs, 10_000)
    if (version >= 1) assert.equal(req.rebalanceTimeoutMs, 60_000)
    assert.equal(req.memberId, '')
    assert.equal(req.protocolType, 'consumer')
    const [protocol] = req.protocols
    assert.equal(protocol?.name, 'RoundRobinAssigner')
    assert.deepEqual(decodeEmbedded(ConsumerProtocolSubscriptionCodec, protocol.metadata).topics, [TOPIC])
  }),
  expectFields(Heartbeat, (req) => {
    assert.deepEqual([req.groupId, req.generationId, req.memberId], [GROUP_ID, 1, MEMBER_ID])
  }),
  expectFields(LeaveGroup, (req, { version }) => {
    assert.equal(req.groupId, GROUP_ID)
    // KIP-345 turned the single member id into a list of members at v3.
    if (version >= 3) assert.deepEqual(req.members.map((m) => m.memberId), [MEMBER_ID])
    else assert.equal(req.memberId, MEMBER_ID)
  }),
  expectFields(SyncGroup, (req) => {
    assert.deepEqual([req.groupId, req.generationId, req.memberId], [GROUP_ID, 1, MEMBER_ID])
    const [assignment] = req.assignments
    assert.equal(assignment?.memberId, MEMBER_ID)
    const decoded = decodeEmbedded(ConsumerProtocolAssignmentCodec, assignment.assignment)
    assert.deepEqual(decoded.assignedPartitions.map((t) => [t.topic, t.partitions]), [[TOPIC, [0, 1]]])
  }),
  expectFields(DescribeGroups, (req) => assert.deepEqual(req.groups, [GROUP_ID])),
  expectFields(ListGroups, (req) => assert.deepEqual([req.statesFilter, req.typesFilter], [[], []])),
  expectFields(SaslHandshake, (req) => assert.equal(req.mechanism, 'PLAIN')),
  expectFields(ApiVersions, (req) => assert.deepEqual([req.clientSoftwareName, req.clientSoftwareVersion], ['', ''])),
  expectFields(CreateTopics, (req, { version }) => {
    const [topic] = req.topics
    assert.deepEqual([topic?.name, topic?.numPartitions, topic?.replicationFactor], [TOPIC, 2, 1])
    assert.deepEqual(topic?.configs, [{ name: 'cleanup.policy', value: 'delete' }])
    if (version >= 1) assert.equal(req.validateOnly, false)
  }),
  expectFields(DeleteTopics, (req) => assert.deepEqual(req.topicNames, [TOPIC])),
  expectFields(DeleteRecords, (req) => {
    assert.deepEqual(req.topics.map((t) => [t.name, t.partitions]), [[TOPIC, [{ partitionIndex: 0, offset: 1n }]]])
  }),
  expectFields(InitProducerId, (req, entry) => {
    assert.equal(req.transactionalId, entry.variant === 'transactional' ? TRANSACTIONAL_ID : null)
    assert.equal(req.transactionTimeoutMs, 60_000)
  }),
  expectFields(AddPartitionsToTxn, (req) => {
    assert.deepEqual(
      [req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch],
      [TRANSACTIONAL_ID, PRODUCER_ID, 0],
    )
    assert.deepEqual(req.v3AndBelowTopics, [{ name: TOPIC, partitions: [1] }])
  }),
  expectFields(AddOffsetsToTxn, (req) => {
    assert.deepEqual([req.transactionalId, req.producerId, req.producerEpoch, req.groupId], [TRANSACTIONAL_ID, PRODUCER_ID, 0, GROUP_ID])
  }),
  expectFields(EndTxn, (req) => {
    assert.deepEqual([req.transactionalId, req.producerId, req.producerEpoch, req.committed], [TRANSACTIONAL_ID, PRODUCER_ID, 0, true])
  }),
  expectFields(TxnOffsetCommit, (req) => {
    assert.deepEqual([req.transactionalId, req.groupId, req.producerId, req.producerEpoch], [TRANSACTIONAL_ID, GROUP_ID, PRODUCER_ID, 0])
    assert.deepEqual(req.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.committedOffset])]), [[TOPIC, [[0, 1n]]]])
  }),
  expectFields(DescribeAcls, (req) => {
    assert.deepEqual(
      [req.resourceTypeFilter, req.resourceNameFilter, req.principalFilter, req.hostFilter, req.operation, req.permissionType],
      [RESOURCE_TOPIC, TOPIC, 'User:baton', '*', OPERATION_READ, PERMISSION_ALLOW],
    )
  }),
  expectFields(CreateAcls, (req, { version }) => {
    const [acl] = req.creations
    assert.deepEqual(
      [acl?.resourceType, acl?.resourceName, acl?.principal, acl?.host, acl?.operation, acl?.permissionType],
      [RESOURCE_TOPIC, TOPIC, 'User:baton', '*', OPERATION_READ, PERMISSION_ALLOW],
    )
    if (version >= 1) assert.equal(acl?.resourcePatternType, PATTERN_LITERAL)
  }),
  expectFields(DeleteAcls, (req) => {
    const [filter] = req.filters
    assert.deepEqual([filter?.resourceTypeFilter, filter?.resourceNameFilter, filter?.principalFilter], [RESOURCE_TOPIC, TOPIC, 'User:baton'])
  }),
  expectFields(DescribeConfigs, (req, { version }) => {
    assert.deepEqual(req.resources, [{ resourceType: RESOURCE_TOPIC, resourceName: TOPIC, configurationKeys: ['cleanup.policy'] }])
    if (version >= 1) assert.equal(req.includeSynonyms, false)
  }),
  expectFields(AlterConfigs, (req) => {
    assert.deepEqual(req.resources, [{ resourceType: RESOURCE_TOPIC, resourceName: TOPIC, configs: [{ name: 'retention.ms', value: '3600000' }] }])
    assert.equal(req.validateOnly, false)
  }),
  expectFields(SaslAuthenticate, (req) => assert.equal(req.authBytes.toString(), '\0baton\0fixtures')),
  expectFields(CreatePartitions, (req) => assert.deepEqual(req.topics, [{ name: TOPIC, count: 3, assignments: null }])),
  expectFields(DeleteGroups, (req) => assert.deepEqual(req.groupsNames, [GROUP_ID])),
  expectFields(AlterPartitionReassignments, (req) => {
    assert.deepEqual(req.topics, [{ name: TOPIC, partitions: [{ partitionIndex: 0, replicas: [0] }] }])
  }),
  expectFields(ListPartitionReassignments, (req) => assert.deepEqual(req.topics, [{ name: TOPIC, partitionIndexes: [0] }])),
])

describe(`request frames captured from ${index.client} ${index.clientVersion}`, () => {
  it('the index lists every fixture file once, with the api name of its key', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.bin')).sort()
    assert.deepEqual(index.frames.map((e) => e.file).sort(), files)
    assert.equal(index.clientId, CLIENT_ID)
    for (const entry of index.frames) assert.equal(apiSpecByKey(entry.apiKey)?.name, entry.apiName, entry.file)
  })

  it('covers every api the capture drives KafkaJS to send', () => {
    const captured = new Set(index.frames.map((e) => e.apiKey))
    const missing = [...expectations.keys()].filter((key) => !captured.has(key)).map((key) => apiSpecByKey(key)?.name)
    assert.deepEqual(missing, [], 'rerun scripts/capture-kafkajs-frames.ts')
  })

  for (const entry of index.frames) {
    it(`${entry.file}: decodes fully, carries the fields KafkaJS was given, re-encodes to the same bytes`, () => {
      const frame = readFileSync(join(FIXTURES, entry.file))
      const { header, api, body } = decodeRequestHeader(frame)
      assert.ok(api !== undefined, `api key ${header.requestApiKey} is unknown`)
      assert.deepEqual([header.requestApiKey, header.requestApiVersion, header.clientId], [entry.apiKey, entry.version, CLIENT_ID])

      const expectation = expectations.get(api.apiKey)
      assert.ok(expectation !== undefined, `no field expectations for ${api.name}: add them to this test`)
      const request = expectation.decodeAndVerify(entry.version, body, entry)
      assert.equal(body.remaining, 0)

      const encoded = encodeRequest(api, entry.version, { correlationId: header.correlationId, clientId: header.clientId }, request)
      assert.equal(encoded.readInt32BE(0), frame.length)
      assert.equal(encoded.subarray(4).toString('hex'), frame.toString('hex'))
    })
  }
})
