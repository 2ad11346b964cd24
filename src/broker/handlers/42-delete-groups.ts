/**
 * DeleteGroups, v0-2: removes empty groups with their committed offsets; a group with members is
 * refused with NON_EMPTY_GROUP, an unknown one with GROUP_ID_NOT_FOUND.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { DeleteGroups } from '../../protocol/generated/index.js'
import { coordinatesHere, groupCoordinatorOf } from '../groups/broker-context.js'
import { defineHandler } from './handler.js'

export default defineHandler({
  api: DeleteGroups,
  minVersion: 0,
  maxVersion: 2,
  handle: (request, ctx) => ({
    throttleTimeMs: 0,
    results: request.groupsNames.map((groupId) => ({
      groupId,
      errorCode: coordinatesHere(ctx, groupId) ? groupCoordinatorOf(ctx).deleteGroup(groupId) : KafkaErrorCode.NOT_COORDINATOR,
    })),
  }),
  errorResponse: (request, errorCode) => ({ throttleTimeMs: 0, results: request.groupsNames.map((groupId) => ({ groupId, errorCode })) }),
})
