/**
 * DescribeCluster, v0-1 (KIP-700). Every node is reported; the controller is node 0.
 * Leaves out: authorized operations (-2147483648, "not requested"), racks, controller endpoints
 * (endpointType 2 is answered with the brokers, as there is no separate controller quorum).
 */
import { DescribeCluster } from '../../protocol/generated/index.js'
import { defineHandler, type RequestContext } from './handler.js'

function body(ctx: RequestContext, errorCode: number) {
  return {
    throttleTimeMs: 0,
    errorCode,
    clusterId: ctx.cluster.clusterId,
    controllerId: ctx.cluster.controllerId,
    brokers: ctx.cluster.nodes.map((n) => ({ brokerId: n.nodeId, host: n.host, port: n.port, rack: null })),
  }
}

export default defineHandler({
  api: DescribeCluster,
  minVersion: 0,
  maxVersion: 1,
  handle: (_request, ctx) => body(ctx, 0),
  errorResponse: (_request, errorCode, ctx) => body(ctx, errorCode),
})
