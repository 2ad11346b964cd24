/**
 * Consumer group membership under the classic protocol: the member (join, sync, heartbeat,
 * rebalance hooks, commits, leave), the assignors, the consumer protocol's bytes, and the narrow
 * interfaces through which it reaches the cluster.
 */
export * from './assignors/index.js'
export { ClusterGroupTransport, ClusterMetadataSource } from './cluster-adapter.js'
export type { CommitOffset } from './commit.js'
export { fetchCommittedOffsets, type CommittedOffset, type FetchCommittedOptions } from './committed.js'
export {
  CONSUMER_PROTOCOL_TYPE,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  type Assignment,
  type DecodedAssignment,
  type DecodedSubscription,
  type Subscription,
} from './consumer-protocol.js'
export { GROUP_STATE_CHANNEL, type GroupStateEvent } from './diagnostics.js'
export {
  AssignorError,
  CommitFailedError,
  ConsumerProtocolError,
  InvalidTransitionError,
  MembershipError,
  RebalanceHookError,
  RebalanceHookTimeoutError,
  type CommitFailedCode,
  type MembershipErrorCode,
  type RebalanceHookName,
} from './errors.js'
export type { RebalanceHook, RebalanceHooks } from './hooks.js'
export { GroupMember, type GroupMemberOptions } from './member.js'
export { canTransition, type MemberState } from './state.js'
export type { TopicPartition, TopicPartitions } from './topic-partitions.js'
export { systemTimers, type GroupMetadataSource, type GroupTransport, type Timers } from './transport.js'
