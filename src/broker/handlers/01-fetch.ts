/**
 * Fetch, v4-17 (record batches; v13+ by topic id). Long polling wakes on the first append that brings
 * the response to minBytes; maxBytes, per-partition max bytes and KIP-74's "first batch whole" rule
 * apply; OFFSET_OUT_OF_RANGE, leader epoch checks (KIP-320) and NOT_LEADER_OR_FOLLOWER with the
 * current leader (KIP-951) are answered per partition; v12+ `lastFetchedEpoch` is checked against
 * the epoch history (KIP-320 divergence). Incremental fetch sessions (KIP-227) in fetch-sessions.ts.
 * Leaves out: follower fetching (replicaId >= 0 is served like a consumer), rack-aware preferred
 * read replicas. read_committed reads stop at the last stable offset and carry the aborted
 * transactions the returned batches hold (transactions/partition-state.ts).
 */
import { Fetch } from '../../protocol/generated/index.js'
import { fetch, fetchErrorResponse } from '../fetch.js'
import { defineHandler } from './handler.js'

export default defineHandler({
  api: Fetch,
  minVersion: 4,
  maxVersion: 17,
  handle: (request, ctx) => fetch(request, ctx),
  errorResponse: (request, errorCode) => fetchErrorResponse(request, errorCode),
})
