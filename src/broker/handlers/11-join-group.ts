/**
 * JoinGroup, v0-9, classic protocol. v4+ takes part in the MEMBER_ID_REQUIRED round trip (KIP-394),
 * v5+ carries group.instance.id (KIP-345), v9 may tell a static leader to skip the assignment
 * (KIP-814). A v0 request has no rebalance timeout: the session timeout serves as both, as in Kafka.
 * Leaves out: the join reason (v8) is accepted and ignored.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { JoinGroup, type JoinGroupResponseInit } from '../../protocol/generated/index.js'
import { clientHostOf, coordinatesHere, groupCoordinatorOf } from '../groups/broker-context.js'
import { joinError, type JoinResult } from '../groups/member.js'
import { defineHandler } from './handler.js'

function toResponse(result: JoinResult, version: number): JoinGroupResponseInit {
  return {
    errorCode: result.errorCode,
    generationId: result.generationId,
    protocolType: result.protocolType,
    // Nullable only from v7; older versions spell "none" as an empty string.
    protocolName: version >= 7 ? result.protocolName : (result.protocolName ?? ''),
    leader: result.leader,
    skipAssignment: version >= 9 && result.skipAssignment,
    memberId: result.memberId,
    members: result.members.map((m) => ({ memberId: m.memberId, groupInstanceId: version >= 5 ? m.groupInstanceId : null, metadata: m.metadata })),
  }
}

export default defineHandler({
  api: JoinGroup,
  minVersion: 0,
  maxVersion: 9,
  handle: async (request, ctx) => {
    if (!coordinatesHere(ctx, request.groupId)) return toResponse(joinError(KafkaErrorCode.NOT_COORDINATOR, request.memberId), ctx.version)
    const result = await groupCoordinatorOf(ctx).join({
      groupId: request.groupId,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: ctx.version === 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs,
      protocolType: request.protocolType,
      // Copies, so a long-lived member does not pin the whole request frame in memory.
      protocols: request.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
      clientId: ctx.clientId ?? '',
      clientHost: clientHostOf(ctx),
      requireKnownMemberId: ctx.version >= 4,
    })
    return toResponse(result, ctx.version)
  },
  errorResponse: (request, errorCode, ctx) => toResponse(joinError(errorCode, request.memberId), ctx.version),
})
