/**
 * The handler of every API the broker serves, by API key. ApiVersions is derived from this table,
 * so adding a handler file and a line here is all it takes to offer an API.
 */
import produce from './00-produce.js'
import fetch from './01-fetch.js'
import listOffsets from './02-list-offsets.js'
import metadata from './03-metadata.js'
import offsetCommit from './08-offset-commit.js'
import offsetFetch from './09-offset-fetch.js'
import findCoordinator from './10-find-coordinator.js'
import joinGroup from './11-join-group.js'
import heartbeat from './12-heartbeat.js'
import leaveGroup from './13-leave-group.js'
import syncGroup from './14-sync-group.js'
import describeGroups from './15-describe-groups.js'
import listGroups from './16-list-groups.js'
import saslHandshake from './17-sasl-handshake.js'
import apiVersions from './18-api-versions.js'
import createTopics from './19-create-topics.js'
import deleteTopics from './20-delete-topics.js'
import deleteRecords from './21-delete-records.js'
import initProducerId from './22-init-producer-id.js'
import offsetForLeaderEpoch from './23-offset-for-leader-epoch.js'
import saslAuthenticate from './36-sasl-authenticate.js'
import addPartitionsToTxn from './24-add-partitions-to-txn.js'
import addOffsetsToTxn from './25-add-offsets-to-txn.js'
import endTxn from './26-end-txn.js'
import txnOffsetCommit from './28-txn-offset-commit.js'
import describeConfigs from './32-describe-configs.js'
import createPartitions from './37-create-partitions.js'
import deleteGroups from './42-delete-groups.js'
import offsetDelete from './47-offset-delete.js'
import describeCluster from './60-describe-cluster.js'
import describeProducers from './61-describe-producers.js'
import describeTransactions from './65-describe-transactions.js'
import listTransactions from './66-list-transactions.js'
import consumerGroupHeartbeat from './68-consumer-group-heartbeat.js'
import consumerGroupDescribe from './69-consumer-group-describe.js'
import type { AnyHandler } from './handler.js'

const ALL: readonly AnyHandler[] = [
  produce,
  fetch,
  listOffsets,
  metadata,
  offsetCommit,
  offsetFetch,
  findCoordinator,
  joinGroup,
  heartbeat,
  leaveGroup,
  syncGroup,
  describeGroups,
  listGroups,
  saslHandshake,
  apiVersions,
  createTopics,
  deleteTopics,
  deleteRecords,
  initProducerId,
  offsetForLeaderEpoch,
  addPartitionsToTxn,
  addOffsetsToTxn,
  endTxn,
  txnOffsetCommit,
  describeConfigs,
  saslAuthenticate,
  createPartitions,
  deleteGroups,
  offsetDelete,
  describeCluster,
  describeProducers,
  describeTransactions,
  listTransactions,
  consumerGroupHeartbeat,
  consumerGroupDescribe,
]

export const HANDLERS: ReadonlyMap<number, AnyHandler> = new Map(ALL.map((h) => [h.api.apiKey, h]))

/** What ApiVersions advertises: each handler's range, capped at the spec's newest stable version. */
export function supportedApis(): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return ALL.map((h) => ({ apiKey: h.api.apiKey, minVersion: Math.max(h.minVersion, h.api.minVersion), maxVersion: Math.min(h.maxVersion, h.advertiseUnstable === true ? h.api.maxVersion : h.api.maxStableVersion) })).sort(
    (a, b) => a.apiKey - b.apiKey,
  )
}
