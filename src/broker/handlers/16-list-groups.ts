/**
 * ListGroups, v0-5: the groups this node coordinates (clients ask every node and merge, as with
 * Kafka). v4+ filters by state (case-insensitive, KIP-518), v5+ by type and reports it: "classic"
 * or "consumer" (KIP-848).
 */
import { ListGroups } from '../../protocol/generated/index.js'
import { coordinatesHere, groupCoordinatorOf } from '../groups/broker-context.js'
import { defineHandler } from './handler.js'

export default defineHandler({
  api: ListGroups,
  minVersion: 0,
  maxVersion: 5,
  handle: (request, ctx) => {
    const groups = groupCoordinatorOf(ctx).listGroups(request.statesFilter, request.typesFilter, (groupId) => coordinatesHere(ctx, groupId))
    return { errorCode: 0, groups: groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: g.groupType })) }
  },
  errorResponse: (_request, errorCode) => ({ errorCode, groups: [] }),
})
