/**
 * SyncGroup, v0-5, classic protocol: the leader hands in the assignment and every member gets its
 * own share. v3+ carries group.instance.id (KIP-345); v5+ names the protocol type and name, which
 * must match the group's (INCONSISTENT_GROUP_PROTOCOL otherwise).
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { SyncGroup, type SyncGroupResponseInit } from '../../protocol/generated/index.js'
import { coordinatesHere, groupCoordinatorOf } from '../groups/broker-context.js'
import { syncError, type SyncResult } from '../groups/member.js'
import { defineHandler } from './handler.js'

function toResponse(result: SyncResult, version: number): SyncGroupResponseInit {
  const named = version >= 5
  return { errorCode: result.errorCode, protocolType: named ? result.protocolType : null, protocolName: named ? result.protocolName : null, assignment: result.assignment }
}

export default defineHandler({
  api: SyncGroup,
  minVersion: 0,
  maxVersion: 5,
  handle: async (request, ctx) => {
    if (!coordinatesHere(ctx, request.groupId)) return toResponse(syncError(KafkaErrorCode.NOT_COORDINATOR), ctx.version)
    // Copies, so stored assignments do not pin the whole request frame in memory.
    const assignments = request.assignments.map((a) => ({ memberId: a.memberId, assignment: Buffer.from(a.assignment) }))
    const result = await groupCoordinatorOf(ctx).sync({ ...request, assignments })
    return toResponse(result, ctx.version)
  },
  errorResponse: (_request, errorCode, ctx) => toResponse(syncError(errorCode), ctx.version),
})
