/**
 * Captures the request frames KafkaJS really sends, as golden fixtures for baton's codecs.
 *
 *   npx tsx scripts/capture-kafkajs-frames.ts [output-dir]   (default test/fixtures/kafkajs)
 *
 * A fake single-node broker on 127.0.0.1 (port 0), built only from baton's frame decoder and
 * generated codecs, answers just enough for KafkaJS's admin, producer and consumer to go through
 * their motions. The same scenario runs once per "version cap": in run N the broker advertises at
 * most version N of every API, and KafkaJS picks min(its own newest, N), so the runs together make
 * KafkaJS send every version it implements. The first frame seen for each (api, version) is
 * written as `<api>-v<version>.bin` (without the size prefix), transactional flavours of a few
 * requests as `<api>-v<version>-<variant>.bin`, with `index.json` listing them all.
 *
 * Names, ids and payloads are fixed; timestamps, correlation ids and the order of partitions are
 * whatever KafkaJS used, so a rerun changes a few bytes of some frames. If any step of the scenario
 * fails, nothing is written and the exit code is 1.
 */
import { EventEmitter } from 'node:events'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import kafkajs from 'kafkajs'
import { FrameDecoder } from '../src/net/frame-decoder.js'
import type { ApiSpec } from '../src/protocol/codec-runtime.js'
import { BatonError } from '../src/protocol/errors/base.js'
import { decodeRequestBody, decodeRequestHeader, encodeResponse } from '../src/protocol/frame.js'
import {
  AddOffsetsToTxn, AddPartitionsToTxn, AlterConfigs, AlterPartitionReassignments, ApiVersions, CreateAcls, CreatePartitions,
  CreateTopics, DeleteAcls, DeleteGroups, DeleteRecords, DeleteTopics, DescribeAcls, DescribeConfigs, DescribeGroups, EndTxn,
  Fetch, FindCoordinator, Heartbeat, InitProducerId, JoinGroup, LeaveGroup, ListGroups, ListOffsets,
  ListPartitionReassignments, Metadata, OffsetCommit, OffsetFetch, Produce, SaslAuthenticate, SaslHandshake, SyncGroup,
  TxnOffsetCommit,
} from '../src/protocol/generated/index.js'
import type { Reader } from '../src/protocol/primitives/reader.js'
import { crc32, encodeRecordBatch } from '../src/protocol/records/index.js'

const { Kafka, logLevel, ConfigResourceTypes, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs

const CLIENT_ID = 'baton-fixtures'
const TOPIC = 'baton-fixtures-topic'
const GROUP_ID = 'baton-fixtures-group'
const TRANSACTIONAL_ID = 'baton-fixtures-txn'
const NODE_ID = 0
const PARTITIONS = 2
const PRODUCER_ID = 4242n
const MEMBER_ID = `${CLIENT_ID}-member-1`
/** The newest version KafkaJS 2.2.4 implements of any API (Fetch v11). */
const HIGHEST_CAP = 11
const UNSUPPORTED_VERSION = 35
const WAIT_MS = 5000
/** Long-poll cap for empty fetches, so a consumer with nothing to read does not spin. */
const MAX_FETCH_WAIT_MS = 100

/**
 * Versions below which KafkaJS cannot work at all, so capping lower would only break the run:
 * it has no OffsetFetch v0; Metadata v0 names no controller, which its admin requires (v0 is
 * still captured, by a bare run without floors); SASL handshake v0 is followed by unframed SASL
 * bytes this listener does not parse.
 */
const FLOORS = new Map<ApiSpec, number>([[OffsetFetch, 1], [Metadata, 1], [SaslHandshake, 1]])

const kebab = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()

interface FixtureEntry {
  apiKey: number
  apiName: string
  version: number
  /** Set when the frame is a transactional flavour of the api and version (see variantOf). */
  variant?: string
  file: string
}

/** One API the fake broker answers: decodes the body and builds the response (null = no response). */
interface Route {
  api: ApiSpec
  answer(version: number, body: Reader): unknown
}

function route<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, answer: (request: Req, version: number) => ResInit | null | Promise<ResInit | null>): Route {
  return { api, answer: (version, body) => answer(decodeRequestBody(api, version, body), version) }
}

/**
 * A broker that remembers nothing but what KafkaJS needs to make progress: any topic asked about
 * exists with PARTITIONS partitions led by this node, every write succeeds, and every fetch from
 * offset 0 returns one record batch encoded by baton.
 */
class FakeBroker extends EventEmitter {
  readonly captured = new Map<string, { apiKey: number; version: number; variant: string | null; frame: Buffer }>()
  private readonly server: Server
  private readonly sockets = new Set<Socket>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly routes = new Map<number, Route>()
  private readonly topics = new Set<string>()
  private cap = HIGHEST_CAP
  private floors = true
  port = 0

  constructor() {
    super()
    this.server = createServer((socket) => this.accept(socket))
    for (const r of this.buildRoutes()) this.routes.set(r.api.apiKey, r)
  }

  async start(): Promise<void> {
    await new Promise<void>((resolveListen) => this.server.listen(0, '127.0.0.1', resolveListen))
    this.port = (this.server.address() as AddressInfo).port
  }

  /** Starts a run that advertises at most `cap` of every API (but not less than its floor). */
  reset(cap: number, floors = true): void {
    this.cap = cap
    this.floors = floors
    this.topics.clear()
    this.topics.add(TOPIC)
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer)
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolveClose) => this.server.close(() => resolveClose()))
  }

  /** Resolves at the next request with this api key, or rejects after `timeoutMs`. */
  waitFor(apiKey: number, timeoutMs = WAIT_MS): Promise<void> {
    return new Promise((resolveWait, rejectWait) => {
      const onRequest = (key: number): void => {
        if (key !== apiKey) return
        clearTimeout(timer)
        this.off('request', onRequest)
        resolveWait()
      }
      const timer = setTimeout(() => {
        this.off('request', onRequest)
        rejectWait(new BatonError('CAPTURE_TIMEOUT', `KafkaJS sent no request with api key ${apiKey} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.on('request', onRequest)
    })
  }

  private advertised(api: ApiSpec): number {
    const floor = this.floors ? (FLOORS.get(api) ?? 0) : 0
    return Math.min(Math.max(this.cap, floor), api.maxStableVersion)
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket)
    const decoder = new FrameDecoder()
    // Kafka answers a connection's requests in order; chaining keeps that even when one waits.
    let queue = Promise.resolve()
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        queue = queue.then(() => this.handle(frame)).then(
          (response) => {
            if (response !== null && !socket.destroyed) socket.write(response)
          },
          (error: unknown) => {
            process.stderr.write(`fake broker: ${String(error)}\n`)
            socket.destroy()
          },
        )
      }
    })
    socket.on('error', () => socket.destroy())
    socket.on('close', () => this.sockets.delete(socket))
  }

  private async handle(frame: Buffer): Promise<Buffer | null> {
    const { header, api, body } = decodeRequestHeader(frame)
    const version = header.requestApiVersion
    const r = api === undefined ? undefined : this.routes.get(api.apiKey)
    if (api === undefined || r === undefined) {
      throw new BatonError('CAPTURE_NO_ROUTE', `KafkaJS sent api key ${header.requestApiKey} v${version}, which this listener does not answer: add a route`)
    }
    const variant = variantOf(api, version, frame)
    const key = `${api.apiKey}:${version}:${variant ?? ''}`
    if (!this.captured.has(key)) this.captured.set(key, { apiKey: api.apiKey, version, variant, frame: Buffer.from(frame) })
    this.emit('request', api.apiKey)
    if (api === ApiVersions && version > this.advertised(ApiVersions)) {
      // KafkaJS retries ApiVersions with an older version on UNSUPPORTED_VERSION.
      const apiKeys = [{ apiKey: ApiVersions.apiKey, minVersion: 0, maxVersion: this.advertised(ApiVersions) }]
      return encodeResponse(ApiVersions, version, header.correlationId, { errorCode: UNSUPPORTED_VERSION, apiKeys })
    }
    const response = await r.answer(version, body)
    return response === null ? null : encodeResponse(api, version, header.correlationId, response)
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolveDelay) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer)
        resolveDelay()
      }, ms)
      this.timers.add(timer)
    })
  }

  private buildRoutes(): Route[] {
    const host = '127.0.0.1'
    const partitionsOf = (): number[] => Array.from({ length: PARTITIONS }, (_, i) => i)
    const timestamp = 1_700_000_000_000
    const batch = encodeRecordBatch({ records: [{ key: 'key-0', value: 'value-0', headers: [{ key: 'origin', value: 'baton' }], timestamp }] })
    const legacy = legacyMessage('key-0', 'value-0', timestamp)
    return [
      route(ApiVersions, () => ({
        errorCode: 0,
        apiKeys: [...this.routes.values()].map(({ api }) => ({ apiKey: api.apiKey, minVersion: 0, maxVersion: this.advertised(api) })),
      })),
      route(Metadata, (req) => {
        const names = req.topics === null || req.topics.length === 0 ? [...this.topics] : req.topics.map((t) => t.name ?? '')
        return {
          brokers: [{ nodeId: NODE_ID, host, port: this.port }],
          clusterId: 'baton-fixtures-cluster',
          controllerId: NODE_ID,
          topics: names.map((name) => ({
            errorCode: 0,
            name,
            partitions: partitionsOf().map((p) => ({ errorCode: 0, partitionIndex: p, leaderId: NODE_ID, leaderEpoch: 0, replicaNodes: [NODE_ID], isrNodes: [NODE_ID] })),
          })),
        }
      }),
      route(CreateTopics, (req) => {
        for (const t of req.topics) this.topics.add(t.name)
        return { topics: req.topics.map((t) => ({ name: t.name, errorCode: 0 })) }
      }),
      route(DeleteTopics, (req) => ({ responses: req.topicNames.map((name) => ({ name, errorCode: 0 })) })),
      route(CreatePartitions, (req) => ({ throttleTimeMs: 0, results: req.topics.map((t) => ({ name: t.name, errorCode: 0 })) })),
      route(DescribeConfigs, (req) => ({
        throttleTimeMs: 0,
        results: req.resources.map((res) => ({
          errorCode: 0,
          resourceType: res.resourceType,
          resourceName: res.resourceName,
          configs: [{ name: 'cleanup.policy', value: 'delete', readOnly: false, isSensitive: false }],
        })),
      })),
      route(AlterConfigs, (req) => ({
        throttleTimeMs: 0,
        responses: req.resources.map((res) => ({ errorCode: 0, resourceType: res.resourceType, resourceName: res.resourceName })),
      })),
      route(DescribeAcls, () => ({ throttleTimeMs: 0, errorCode: 0, resources: [] })),
      route(CreateAcls, (req) => ({ throttleTimeMs: 0, results: req.creations.map(() => ({ errorCode: 0 })) })),
      route(DeleteAcls, (req) => ({ throttleTimeMs: 0, filterResults: req.filters.map(() => ({ errorCode: 0, matchingAcls: [] })) })),
      route(AlterPartitionReassignments, (req) => ({
        throttleTimeMs: 0,
        errorCode: 0,
        responses: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0 })) })),
      })),
      route(ListPartitionReassignments, () => ({ throttleTimeMs: 0, errorCode: 0, topics: [] })),
      route(ListOffsets, (req, version) => ({
        topics: req.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => {
            // -2 asks for the earliest offset; anything else gets the end of the one-record log.
            const offset = p.timestamp === -2n ? 0n : 1n
            if (version === 0) return { partitionIndex: p.partitionIndex, errorCode: 0, oldStyleOffsets: [offset] }
            return { partitionIndex: p.partitionIndex, errorCode: 0, timestamp: -1n, offset }
          }),
        })),
      })),
      route(DeleteRecords, (req) => ({
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, lowWatermark: p.offset, errorCode: 0 })) })),
      })),
      route(Produce, (req) => {
        if (req.acks === 0) return null
        return {
          responses: req.topicData.map((t) => ({
            name: t.name,
            partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: 0, baseOffset: 0n })),
          })),
        }
      }),
      route(Fetch, async (req, version) => {
        // Record batches (magic 2) exist from Fetch v4 on; older versions carry legacy message sets.
        const records = version >= 4 ? batch : legacy
        const hasData = req.topics.some((t) => t.partitions.some((p) => p.fetchOffset === 0n))
        if (!hasData) await this.delay(Math.min(req.maxWaitMs, MAX_FETCH_WAIT_MS))
        return {
          responses: req.topics.map((t) => ({
            topic: t.topic,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partition,
              errorCode: 0,
              highWatermark: 1n,
              lastStableOffset: 1n,
              logStartOffset: 0n,
              records: p.fetchOffset === 0n ? records : Buffer.alloc(0),
            })),
          })),
        }
      }),
      route(FindCoordinator, () => ({ errorCode: 0, nodeId: NODE_ID, host, port: this.port })),
      route(JoinGroup, (req) => ({
        errorCode: 0,
        generationId: 1,
        protocolType: req.protocolType,
        protocolName: req.protocols[0]?.name ?? '',
        leader: MEMBER_ID,
        memberId: MEMBER_ID,
        members: [{ memberId: MEMBER_ID, metadata: req.protocols[0]?.metadata ?? Buffer.alloc(0) }],
      })),
      route(SyncGroup, (req) => ({
        errorCode: 0,
        protocolType: req.protocolType,
        protocolName: req.protocolName,
        assignment: req.assignments.find((a) => a.memberId === req.memberId)?.assignment ?? Buffer.alloc(0),
      })),
      route(Heartbeat, () => ({ errorCode: 0 })),
      route(OffsetCommit, (req) => ({
        topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0 })) })),
      })),
      route(OffsetFetch, (req) => ({
        errorCode: 0,
        topics: (req.topics ?? [{ name: TOPIC, partitionIndexes: partitionsOf() }]).map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1n, metadata: '', errorCode: 0 })),
        })),
      })),
      route(LeaveGroup, (req) => ({ errorCode: 0, members: req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: 0 })) })),
      route(DescribeGroups, (req) => ({
        groups: req.groups.map((groupId) => ({ errorCode: 0, groupId, groupState: 'Empty', protocolType: 'consumer', protocolData: '', members: [] })),
      })),
      route(ListGroups, () => ({ errorCode: 0, groups: [{ groupId: GROUP_ID, protocolType: 'consumer' }] })),
      route(DeleteGroups, (req) => ({ throttleTimeMs: 0, results: req.groupsNames.map((groupId) => ({ groupId, errorCode: 0 })) })),
      route(InitProducerId, () => ({ throttleTimeMs: 0, errorCode: 0, producerId: PRODUCER_ID, producerEpoch: 0 })),
      route(AddPartitionsToTxn, (req) => ({
        throttleTimeMs: 0,
        resultsByTopicV3AndBelow: req.v3AndBelowTopics.map((t) => ({
          name: t.name,
          resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: 0 })),
        })),
      })),
      route(AddOffsetsToTxn, () => ({ throttleTimeMs: 0, errorCode: 0 })),
      route(TxnOffsetCommit, (req) => ({
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0 })) })),
      })),
      route(EndTxn, () => ({ throttleTimeMs: 0, errorCode: 0 })),
      route(SaslHandshake, () => ({ errorCode: 0, mechanisms: ['PLAIN'] })),
      route(SaslAuthenticate, () => ({ errorCode: 0, authBytes: Buffer.alloc(0) })),
    ]
  }
}

/**
 * Transactional producers fill fields that plain ones leave at their defaults (KIP-98), so their
 * frames are kept apart from the first plain frame of the same api and version.
 */
function variantOf(api: ApiSpec, version: number, frame: Buffer): string | null {
  const body = (): Reader => decodeRequestHeader(frame).body
  if (api === Produce) return decodeRequestBody(Produce, version, body()).transactionalId === null ? null : 'transactional'
  if (api === InitProducerId) return decodeRequestBody(InitProducerId, version, body()).transactionalId === null ? null : 'transactional'
  if (api === FindCoordinator) return decodeRequestBody(FindCoordinator, version, body()).keyType === 1 ? 'transaction' : null
  return null
}

/**
 * One uncompressed magic 1 message at offset 0 (KIP-32 layout): baton's records module decodes
 * legacy message sets but, being a client of Kafka >= 0.11, never writes them.
 */
function legacyMessage(key: string, value: string, timestamp: number): Buffer {
  const k = Buffer.from(key)
  const v = Buffer.from(value)
  const message = Buffer.alloc(4 + 1 + 1 + 8 + 4 + k.length + 4 + v.length)
  let at = 4
  at = message.writeInt8(1, at)
  at = message.writeInt8(0, at)
  at = message.writeBigInt64BE(BigInt(timestamp), at)
  at = message.writeInt32BE(k.length, at)
  at += k.copy(message, at)
  at = message.writeInt32BE(v.length, at)
  v.copy(message, at)
  message.writeUInt32BE(crc32(message, 4, message.length), 0)
  const entry = Buffer.alloc(12)
  entry.writeBigInt64BE(0n, 0)
  entry.writeInt32BE(message.length, 8)
  return Buffer.concat([entry, message])
}

const failures: string[] = []

/** Runs one step of the scenario; a failure is recorded and the run goes on, to report them all. */
async function step(cap: number, name: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action()
  } catch (error) {
    failures.push(`cap ${cap}: ${name} failed: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/** Drives KafkaJS's admin, producers and consumer through the calls that reach the broker. */
async function scenario(broker: FakeBroker, cap: number): Promise<void> {
  const common = { clientId: CLIENT_ID, brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50 } }
  const kafka = new Kafka(common)

  const admin = kafka.admin()
  await admin.connect()
  await step(cap, 'createTopics', () =>
    admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'delete' }] }] }),
  )
  await step(cap, 'listTopics', () => admin.listTopics())
  await step(cap, 'fetchTopicMetadata', () => admin.fetchTopicMetadata({ topics: [TOPIC] }))
  await step(cap, 'fetchTopicOffsets', () => admin.fetchTopicOffsets(TOPIC))
  await step(cap, 'describeConfigs', () =>
    admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configNames: ['cleanup.policy'] }], includeSynonyms: false }),
  )
  await step(cap, 'alterConfigs', () =>
    admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] }),
  )
  await step(cap, 'createPartitions', () => admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: PARTITIONS + 1 }] }))
  const acl = {
    resourceType: AclResourceTypes.TOPIC,
    resourceName: TOPIC,
    resourcePatternType: ResourcePatternTypes.LITERAL,
    principal: 'User:baton',
    host: '*',
    operation: AclOperationTypes.READ,
    permissionType: AclPermissionTypes.ALLOW,
  }
  await step(cap, 'createAcls', () => admin.createAcls({ acl: [acl] }))
  await step(cap, 'describeAcls', () => admin.describeAcls(acl))
  await step(cap, 'deleteAcls', () => admin.deleteAcls({ filters: [acl] }))
  await step(cap, 'deleteTopicRecords', () => admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: '1' }] }))
  await step(cap, 'alterPartitionReassignments', () =>
    admin.alterPartitionReassignments({ topics: [{ topic: TOPIC, partitionAssignment: [{ partition: 0, replicas: [NODE_ID] }] }] }),
  )
  await step(cap, 'listPartitionReassignments', () => admin.listPartitionReassignments({ topics: [{ topic: TOPIC, partitions: [0] }] }))

  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await step(cap, 'producer.send', async () => {
    await producer.connect()
    await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: 'key-1', value: 'value-1', partition: 0, headers: { origin: 'kafkajs' } }] })
  })
  await producer.disconnect()

  // An idempotent producer asks for a producer id without a transactional id (KIP-98).
  const idempotent = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await step(cap, 'idempotent producer', () => idempotent.connect())
  await idempotent.disconnect()

  const transactional = kafka.producer({ transactionalId: TRANSACTIONAL_ID, idempotent: true, maxInFlightRequests: 1 })
  await step(cap, 'transaction', async () => {
    await transactional.connect()
    const txn = await transactional.transaction()
    await txn.send({ topic: TOPIC, messages: [{ key: 'key-2', value: 'value-2', partition: 1 }] })
    await txn.sendOffsets({ consumerGroupId: GROUP_ID, topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset: '1' }] }] })
    await txn.commit()
  })
  await transactional.disconnect()

  const consumer = kafka.consumer({ groupId: GROUP_ID, sessionTimeout: 10_000, heartbeatInterval: 50, maxWaitTimeInMs: MAX_FETCH_WAIT_MS })
  await step(cap, 'consumer', async () => {
    await consumer.connect()
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
    // Every fetch from offset 0 carries a record, which KafkaJS commits after processing it.
    const seen = Promise.all([broker.waitFor(Fetch.apiKey), broker.waitFor(Heartbeat.apiKey), broker.waitFor(OffsetCommit.apiKey)])
    try {
      await consumer.run({ eachMessage: async () => {} })
    } finally {
      await seen
    }
  })
  await consumer.disconnect()

  await step(cap, 'listGroups', () => admin.listGroups())
  await step(cap, 'describeGroups', () => admin.describeGroups([GROUP_ID]))
  await step(cap, 'fetchOffsets', () => admin.fetchOffsets({ groupId: GROUP_ID, topics: [TOPIC] }))
  await step(cap, 'deleteGroups', () => admin.deleteGroups([GROUP_ID]))
  await step(cap, 'deleteTopics', () => admin.deleteTopics({ topics: [TOPIC] }))
  await admin.disconnect()

  const sasl = new Kafka({ ...common, sasl: { mechanism: 'plain', username: 'baton', password: 'fixtures' } }).admin()
  await step(cap, 'sasl', () => sasl.connect())
  await sasl.disconnect()
}

async function main(): Promise<void> {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
  const outDir = resolve(process.argv[2] ?? join(root, 'test', 'fixtures', 'kafkajs'))
  const broker = new FakeBroker()
  await broker.start()
  try {
    // The bare run: Metadata v0, which the floors keep out of the full runs.
    broker.reset(0, false)
    const admin = new Kafka({ clientId: CLIENT_ID, brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING }).admin()
    await step(0, 'metadata v0', async () => {
      await admin.connect()
      await admin.fetchTopicMetadata({ topics: [TOPIC] })
    })
    await admin.disconnect()
    for (let cap = 0; cap <= HIGHEST_CAP; cap++) {
      broker.reset(cap)
      await scenario(broker, cap)
    }
  } finally {
    await broker.stop()
  }
  if (failures.length > 0) {
    process.stderr.write(`${failures.join('\n')}\nnothing written: the fixtures would be incomplete\n`)
    process.exitCode = 1
    return
  }

  mkdirSync(outDir, { recursive: true })
  for (const file of readdirSync(outDir)) if (file.endsWith('.bin')) rmSync(join(outDir, file))
  const entries: FixtureEntry[] = []
  const sorted = [...broker.captured.values()].sort((a, b) => a.apiKey - b.apiKey || a.version - b.version || (a.variant ?? '').localeCompare(b.variant ?? ''))
  for (const { apiKey, version, variant, frame } of sorted) {
    const apiName = decodeRequestHeader(frame).api?.name ?? `api-${apiKey}`
    const file = `${kebab(apiName)}-v${version}${variant === null ? '' : `-${variant}`}.bin`
    writeFileSync(join(outDir, file), frame)
    entries.push(variant === null ? { apiKey, apiName, version, file } : { apiKey, apiName, version, variant, file })
  }
  const kafkajsPackage = createRequire(import.meta.url).resolve('kafkajs/package.json')
  const { version: clientVersion } = JSON.parse(readFileSync(kafkajsPackage, 'utf8')) as { version: string }
  const index = { client: 'kafkajs', clientVersion, clientId: CLIENT_ID, frames: entries }
  writeFileSync(join(outDir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`)
  process.stdout.write(`wrote ${entries.length} frames to ${outDir}\n`)
}

await main()
