/**
 * What a group error code in a coordinator's response means for the member. Branching happens on
 * numeric codes from Kafka's table, never on messages.
 */
import { isRetriable, KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'

export type GroupErrorAction =
  | 'none'
  /** The group is rebalancing: rejoin, keeping (cooperative) what is owned. */
  | 'rejoin'
  /** The coordinator does not know this member id: ownership is lost, rejoin with an empty id. */
  | 'unknown-member'
  /** This member's generation is stale: ownership is lost, rejoin. */
  | 'illegal-generation'
  /** Another member took this group.instance.id (KIP-345): ownership is lost, and this member must stop. */
  | 'fenced'
  /** KIP-848: the member's epoch is fenced (FENCED_MEMBER_EPOCH): ownership is lost, rejoin with epoch 0. */
  | 'fenced-epoch'
  /** KIP-848: a commit carried an epoch the member has since left (STALE_MEMBER_EPOCH): resend under the next one. */
  | 'stale-epoch'
  /** The coordinator moved or is unavailable: look it up again and retry. */
  | 'coordinator'
  /** A transient failure: retry after a backoff. */
  | 'retry'
  /** Retrying cannot help (bad configuration, authorization, protocol mismatch). */
  | 'fatal'

export function groupErrorAction(errorCode: number): GroupErrorAction {
  switch (errorCode) {
    case KafkaErrorCode.NONE:
      return 'none'
    case KafkaErrorCode.REBALANCE_IN_PROGRESS:
      return 'rejoin'
    case KafkaErrorCode.UNKNOWN_MEMBER_ID:
      return 'unknown-member'
    case KafkaErrorCode.ILLEGAL_GENERATION:
      return 'illegal-generation'
    case KafkaErrorCode.FENCED_INSTANCE_ID:
      return 'fenced'
    case KafkaErrorCode.FENCED_MEMBER_EPOCH:
      return 'fenced-epoch'
    case KafkaErrorCode.STALE_MEMBER_EPOCH:
      return 'stale-epoch'
    case KafkaErrorCode.NOT_COORDINATOR:
    case KafkaErrorCode.COORDINATOR_NOT_AVAILABLE:
      return 'coordinator'
    default:
      return isRetriable(errorCode) ? 'retry' : 'fatal'
  }
}
