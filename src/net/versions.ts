/**
 * The versions of each API that baton's client implements, and the choice of version per
 * connection: the highest version both sides support (KIP-35). The table is deliberately not the
 * generated codecs' range: a version is listed only once the client code fills and reads the
 * fields that version adds, and a test covers it.
 */
import type { ApiSpec } from '../protocol/codec-runtime.js'
import type { ApiVersionsResponseApiVersion } from '../protocol/generated/index.js'

export interface VersionRange {
  readonly min: number
  readonly max: number
}

/**
 * Client-side ranges keyed by api key. Lower bounds follow what the client needs: Produce v3 and
 * Fetch v4 are the first to carry record batches v2 and the last stable offset; Fetch stops at 12
 * because v13 addresses topics by id only.
 */
export const CLIENT_VERSIONS: ReadonlyMap<number, VersionRange> = new Map<number, VersionRange>([
  [0, { min: 3, max: 11 }], // Produce
  [1, { min: 4, max: 12 }], // Fetch
  [2, { min: 1, max: 8 }], // ListOffsets
  [3, { min: 1, max: 12 }], // Metadata
  [8, { min: 2, max: 9 }], // OffsetCommit (v2 drops the v1 per-partition timestamp)
  [9, { min: 1, max: 7 }], // OffsetFetch (one group per request; v8 batches groups)
  [10, { min: 0, max: 3 }], // FindCoordinator (v4 batches keys)
  [11, { min: 0, max: 9 }], // JoinGroup
  [12, { min: 0, max: 4 }], // Heartbeat
  [13, { min: 0, max: 5 }], // LeaveGroup
  [14, { min: 0, max: 5 }], // SyncGroup
  [15, { min: 0, max: 5 }], // DescribeGroups
  [16, { min: 0, max: 5 }], // ListGroups (v5 reports classic or consumer, KIP-848)
  [17, { min: 1, max: 1 }], // SaslHandshake
  [18, { min: 0, max: 4 }], // ApiVersions
  [19, { min: 2, max: 7 }], // CreateTopics
  [20, { min: 1, max: 5 }], // DeleteTopics (v6 may address topics by id)
  [21, { min: 0, max: 2 }], // DeleteRecords
  [22, { min: 0, max: 5 }], // InitProducerId
  [24, { min: 0, max: 3 }], // AddPartitionsToTxn (v4+ is the brokers' batched form)
  [25, { min: 0, max: 4 }], // AddOffsetsToTxn
  [26, { min: 0, max: 4 }], // EndTxn (v5 bumps the epoch per transaction, KIP-890 part 2: not yet)
  [28, { min: 0, max: 4 }], // TxnOffsetCommit (v3 carries the KIP-447 group metadata)
  [32, { min: 1, max: 4 }], // DescribeConfigs
  [36, { min: 0, max: 2 }], // SaslAuthenticate
  [37, { min: 0, max: 3 }], // CreatePartitions
  [42, { min: 0, max: 2 }], // DeleteGroups
  [60, { min: 0, max: 1 }], // DescribeCluster
  [68, { min: 0, max: 1 }], // ConsumerGroupHeartbeat (KIP-848; v1 adds the subscription regex)
  [69, { min: 0, max: 0 }], // ConsumerGroupDescribe (KIP-848)
])

/** What the broker said it supports, keyed by api key. */
export type BrokerVersions = ReadonlyMap<number, VersionRange>

export function brokerVersionsFrom(apiKeys: readonly ApiVersionsResponseApiVersion[]): BrokerVersions {
  const map = new Map<number, VersionRange>()
  for (const key of apiKeys) map.set(key.apiKey, { min: key.minVersion, max: key.maxVersion })
  return map
}

export type Negotiated = { ok: true; version: number } | { ok: false; reason: string }

/**
 * The highest version in both ranges (and in the codec's, and under `cap` when the application
 * pinned one for this API), or why there is none.
 */
export function negotiateVersion(api: ApiSpec, broker: BrokerVersions, cap = Infinity): Negotiated {
  const client = CLIENT_VERSIONS.get(api.apiKey)
  if (client === undefined) return { ok: false, reason: `baton's client does not implement ${api.name}` }
  const theirs = broker.get(api.apiKey)
  if (theirs === undefined) return { ok: false, reason: 'the broker does not list it in ApiVersions' }
  const max = Math.min(client.max, theirs.max, api.maxVersion, cap)
  const min = Math.max(client.min, theirs.min, api.minVersion)
  if (max < min) {
    return { ok: false, reason: `broker supports v${theirs.min}-v${theirs.max}, baton v${client.min}-v${client.max}` }
  }
  return { ok: true, version: max }
}
