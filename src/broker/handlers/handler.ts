/**
 * The shape every API handler file fills in, and what a handler may use while it runs.
 *
 * A handler is thin: it turns a decoded request into calls on the cluster state and the results
 * into a response. `errorResponse` builds the answer fault injection sends instead of running the
 * handler: the chosen error code wherever the API carries one.
 */
import type { ApiSpec } from '../../protocol/codec-runtime.js'
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import type { Cluster, NodeEndpoint, Partition, Topic } from '../cluster.js'
import type { GroupCoordinator } from '../groups/coordinator.js'
import type { TransactionCoordinator } from '../transactions/coordinator.js'
import type { ResolvedBrokerOptions } from '../options.js'
import type { ConnectionAuth, SaslSettings } from '../security/connection-auth.js'

/** State shared by every node of one broker process. */
export interface BrokerContext {
  readonly cluster: Cluster
  readonly options: ResolvedBrokerOptions
  /** Aborted when the broker stops: long polls return at once. */
  readonly stopping: AbortSignal
  /** The broker's group coordinator, made on first use (`groups/broker-context.ts`). */
  readonly groups: () => GroupCoordinator
  /** The broker's transaction coordinator, made when the broker starts (`transactions/broker-context.ts`). */
  readonly transactions: () => TransactionCoordinator
  /** The [apiKey, minVersion, maxVersion] triples ApiVersions advertises. */
  readonly supportedApis: readonly { apiKey: number; minVersion: number; maxVersion: number }[]
  /** SASL on the listeners; absent when clients need not authenticate. */
  readonly sasl?: SaslSettings
}

/** The client connection a request came on. */
export interface ClientConnection {
  /** The peer's address as Kafka reports a member's host ("/127.0.0.1"). */
  readonly clientHost: string
  /** Its SASL state; null when SASL is off. */
  readonly auth: ConnectionAuth | null
  /** Closes the connection once this request's response is written. */
  closeAfterResponse(): void
}

export interface RequestContext extends BrokerContext {
  /** The node the request arrived at. */
  readonly node: NodeEndpoint
  readonly version: number
  readonly clientId: string | null
  /** Absent only in tests that call a handler directly. */
  readonly connection?: ClientConnection
}

export interface Handler<Req, ReqInit, Res, ResInit> {
  readonly api: ApiSpec<Req, ReqInit, Res, ResInit>
  /** Versions served; ApiVersions advertises this range intersected with the spec's stable versions. */
  readonly minVersion: number
  readonly maxVersion: number
  /**
   * Advertise versions the spec snapshot still marks unstable, because Apache Kafka has since
   * released them and clients use them (ConsumerGroupHeartbeat v1, stable in Kafka 4.0).
   */
  readonly advertiseUnstable?: boolean
  /** The response, or null when the request takes none (Produce with acks=0). */
  handle(request: Req, ctx: RequestContext): ResInit | null | Promise<ResInit | null>
  errorResponse(request: Req, errorCode: number, ctx: RequestContext): ResInit | null
}

/** A handler with its types erased, as the registry holds them. */
export type AnyHandler = Handler<unknown, unknown, unknown, unknown>

/** Identity with inference: the handler file gets full typing from its ApiSpec. */
export function defineHandler<Req, ReqInit, Res, ResInit>(handler: Handler<Req, ReqInit, Res, ResInit>): AnyHandler {
  return handler
}

/**
 * The partition-level check Produce, Fetch, ListOffsets and DeleteRecords share: the partition must
 * exist and this node must lead it, or the client is told to refresh metadata and go to the leader.
 */
export function leaderPartition(ctx: RequestContext, topic: Topic | undefined, index: number): Partition | number {
  const partition = topic?.partitions[index]
  if (partition === undefined) return KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION
  if (partition.leader !== ctx.node.nodeId) return KafkaErrorCode.NOT_LEADER_OR_FOLLOWER
  return partition
}
