/**
 * DescribeGroups, v0-5. An unknown group is reported as Dead with no error, as Kafka does before
 * v6. A consumer group (KIP-848) is reported with its members and their assignments in the
 * classic consumer protocol's bytes (groups/consumer/describe.ts). Member metadata, assignments and the protocol are given only for a Stable group. v3+ reports
 * authorized operations when asked; with no ACLs here, every group operation is allowed.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { DescribeGroups, type DescribeGroupsResponseDescribedGroupInit } from '../../protocol/generated/index.js'
import { coordinatesHere, groupCoordinatorOf } from '../groups/broker-context.js'
import { defineHandler } from './handler.js'

/** Kafka's "not requested" value for authorized operations. */
const NOT_REQUESTED = -2147483648
/** READ(3), DELETE(6), DESCRIBE(8), DESCRIBE_CONFIGS(10), ALTER_CONFIGS(11): what a group supports. */
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11)

function failed(groupId: string, errorCode: number): DescribeGroupsResponseDescribedGroupInit {
  return { errorCode, groupId, groupState: '', protocolType: '', protocolData: '', members: [] }
}

export default defineHandler({
  api: DescribeGroups,
  minVersion: 0,
  maxVersion: 5,
  handle: (request, ctx) => ({
    groups: request.groups.map((groupId) => {
      if (!coordinatesHere(ctx, groupId)) return failed(groupId, KafkaErrorCode.NOT_COORDINATOR)
      const group = groupCoordinatorOf(ctx).describeGroup(groupId)
      return {
        errorCode: group.errorCode,
        groupId,
        groupState: group.state,
        protocolType: group.protocolType,
        protocolData: group.protocol,
        members: group.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: ctx.version >= 4 ? m.groupInstanceId : null,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: m.metadata,
          memberAssignment: m.assignment,
        })),
        authorizedOperations: ctx.version >= 3 && request.includeAuthorizedOperations ? GROUP_OPERATIONS : NOT_REQUESTED,
      }
    }),
  }),
  errorResponse: (request, errorCode) => ({ groups: request.groups.map((groupId) => failed(groupId, errorCode)) }),
})
