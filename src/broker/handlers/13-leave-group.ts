/**
 * LeaveGroup, v0-5, classic protocol. v0-2 name one member; v3+ a batch of members, each by member
 * id or, for static members, by group.instance.id alone (KIP-345). Before v3 a member's error is
 * reported at the top level, where those versions have their only error code.
 * Leaves out: the leave reason (v5) is accepted and ignored.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { LeaveGroup, type LeaveGroupResponseInit } from '../../protocol/generated/index.js'
import { coordinatesHere, groupCoordinatorOf } from '../groups/broker-context.js'
import type { LeaveResult } from '../groups/membership.js'
import { defineHandler } from './handler.js'

function toResponse(result: LeaveResult, version: number): LeaveGroupResponseInit {
  if (version >= 3) return { errorCode: result.errorCode, members: result.members.map((m) => ({ ...m })) }
  const memberError = result.members.find((m) => m.errorCode !== KafkaErrorCode.NONE)?.errorCode ?? KafkaErrorCode.NONE
  return { errorCode: result.errorCode !== KafkaErrorCode.NONE ? result.errorCode : memberError }
}

export default defineHandler({
  api: LeaveGroup,
  minVersion: 0,
  maxVersion: 5,
  handle: (request, ctx) => {
    const leaving = ctx.version >= 3 ? request.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId })) : [{ memberId: request.memberId, groupInstanceId: null }]
    if (!coordinatesHere(ctx, request.groupId)) return toResponse({ errorCode: KafkaErrorCode.NOT_COORDINATOR, members: [] }, ctx.version)
    return toResponse(groupCoordinatorOf(ctx).leave(request.groupId, leaving), ctx.version)
  },
  errorResponse: (_request, errorCode, ctx) => toResponse({ errorCode, members: [] }, ctx.version),
})
