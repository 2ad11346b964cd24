/**
 * FindCoordinator, v0-6. v0-3 look up one key, v4+ a batch (KIP-699). The node is chosen as Kafka
 * chooses it: the key's hash picks a partition of the internal topic, whose leader coordinates
 * (see groups/placement.ts). Transactional ids (key type 1) are placed the same way over
 * __transaction_state's partitions by the transaction coordinator, which a test may move.
 * Leaves out: share groups (key type 2, KIP-932) get INVALID_REQUEST.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { FindCoordinator, type FindCoordinatorResponseInit } from '../../protocol/generated/index.js'
import { groupCoordinatorOf } from '../groups/broker-context.js'
import { transactionCoordinatorOf } from '../transactions/broker-context.js'
import { defineHandler, type RequestContext } from './handler.js'

const GROUP_KEY = 0
const TRANSACTION_KEY = 1

interface Found {
  key: string
  nodeId: number
  host: string
  port: number
  errorCode: number
  errorMessage: string | null
}

function find(ctx: RequestContext, key: string, keyType: number): Found {
  if (keyType !== GROUP_KEY && keyType !== TRANSACTION_KEY) {
    return { key, nodeId: -1, host: '', port: -1, errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: `key type ${keyType} is not served; use 0 (group) or 1 (transaction)` }
  }
  const nodeCount = ctx.cluster.nodes.length
  const nodeId = keyType === GROUP_KEY ? groupCoordinatorOf(ctx).coordinatorNode(key, nodeCount) : transactionCoordinatorOf(ctx).coordinatorNode(key, nodeCount)
  const node = ctx.cluster.nodes[nodeId]!
  return { key, nodeId: node.nodeId, host: node.host, port: node.port, errorCode: KafkaErrorCode.NONE, errorMessage: null }
}

function single(found: Found, version: number): FindCoordinatorResponseInit {
  return { errorCode: found.errorCode, errorMessage: version >= 1 ? found.errorMessage : null, nodeId: found.nodeId, host: found.host, port: found.port }
}

export default defineHandler({
  api: FindCoordinator,
  minVersion: 0,
  maxVersion: 6,
  handle: (request, ctx) => {
    if (ctx.version >= 4) return { coordinators: request.coordinatorKeys.map((key) => find(ctx, key, request.keyType)) }
    return single(find(ctx, request.key, request.keyType), ctx.version)
  },
  errorResponse: (request, errorCode, ctx) => {
    const failed = (key: string): Found => ({ key, nodeId: -1, host: '', port: -1, errorCode, errorMessage: null })
    if (ctx.version >= 4) return { coordinators: request.coordinatorKeys.map(failed) }
    return single(failed(request.key), ctx.version)
  },
})
