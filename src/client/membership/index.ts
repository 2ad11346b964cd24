/**
 * Consumer group membership under the classic protocol: the member (join, sync, heartbeat,
 * rebalance hooks, commits, leave), the assignors, the consumer protocol's bytes, and the narrow
 * interfaces through which it reaches the cluster.
 *
 * What the client's public entry takes from here; the rest of the client imports the modules
 * themselves.
 */
export type { AssignmentInput, AssignorMemberState, MemberAssignmentResult, MemberSubscription, PartitionAssignor, RebalanceProtocol } from './assignors/types.js'
export { CommitFailedError, MembershipError, RebalanceHookError, RebalanceHookTimeoutError, type CommitFailedCode, type MembershipErrorCode } from './errors.js'
export type { RebalanceHook, RebalanceHooks } from './hooks.js'
export type { MemberState } from './state.js'
export type { TopicPartitions } from './topic-partitions.js'
export { GROUP_STATE_CHANNEL, type GroupStateEvent } from './diagnostics.js'
