export type {
  AssignmentInput,
  AssignorMemberState,
  MemberAssignmentResult,
  MemberSubscription,
  PartitionAssignor,
  RebalanceProtocol,
} from './types.js'
export { assignRange, rangeAssignor } from './range.js'
export { assignRoundRobin, roundRobinAssignor } from './round-robin.js'
export { assignCooperativeSticky, assignSticky, cooperativeStickyAssignor, stickyAssignor } from './sticky.js'
export {
  decodeCooperativeGeneration,
  decodeStickyUserData,
  encodeCooperativeUserData,
  encodeStickyUserData,
  type StickyUserData,
} from './sticky-user-data.js'
