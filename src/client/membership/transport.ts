/**
 * What the membership needs from the rest of the client, kept narrow so that it can run against
 * the client's connections, the embedded broker in process (in tests), or anything else that speaks the protocol.
 */
import type { ApiSpec } from '../../protocol/codec-runtime.js'

/**
 * Sends requests to the group's coordinator. Implementations find the coordinator
 * (FindCoordinator), pick the version, and decode the response; errors in the response body are
 * returned, not thrown. A request that could not be delivered or answered rejects (e.g. with the
 * net layer's retriable `NetworkError`).
 */
export interface GroupTransport {
  send<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, body: (version: number) => ReqInit): Promise<Res>
  /** Forget the coordinator (after NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE) so the next send looks it up again. */
  coordinatorLost(): void
}

/** Topic metadata the membership reads: partition counts for the assignor and names for pattern subscriptions. */
export interface GroupMetadataSource {
  /** Partition count of each topic that exists; topics that do not exist are left out. */
  partitionCounts(topics: readonly string[]): Promise<Map<string, number>>
  /** Every topic name in the cluster (internal topics excluded), for pattern subscriptions. */
  listTopics(): Promise<string[]>
  /** Topic id → name for every topic in the cluster; KIP-848 assignments name topics by id. */
  topicNamesById?(): Promise<Map<string, string>>
}

/** Clock and timers, injected so tests control time instead of sleeping. */
export interface Timers {
  now(): number
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}
