/**
 * Errors of the group membership. Each is a class with a stable `code`; callers branch on either,
 * never on the message.
 */
import { BatonError } from '../../protocol/errors/base.js'
import type { KafkaError } from '../../protocol/errors/kafka-errors.js'

/** Bytes in a member's subscription or assignment that the consumer protocol cannot decode. */
export class ConsumerProtocolError extends BatonError {
  constructor(message: string, options?: ErrorOptions) {
    super('GROUP_CONSUMER_PROTOCOL', message, options)
  }
}

/** The assignor was given input it cannot assign from, or produced an inconsistent result. */
export class AssignorError extends BatonError {
  constructor(message: string, options?: ErrorOptions) {
    super('GROUP_ASSIGNOR', message, options)
  }
}

/** A membership state change that is not valid from the current state: a bug in baton, not in user code. */
export class InvalidTransitionError extends BatonError {
  readonly from: string
  readonly to: string

  constructor(from: string, to: string) {
    super('GROUP_INVALID_TRANSITION', `group membership cannot go from "${from}" to "${to}"; this is a bug in baton, please report it`)
    this.from = from
    this.to = to
  }
}

export type RebalanceHookName = 'onRevoke' | 'onAssign' | 'onLost'

/**
 * A rebalance hook did not settle within the rebalance timeout. The coordinator evicts members that
 * do not rejoin within that time, so waiting longer would only lose the partitions anyway.
 */
export class RebalanceHookTimeoutError extends BatonError {
  readonly hook: RebalanceHookName
  readonly timeoutMs: number

  constructor(hook: RebalanceHookName, timeoutMs: number) {
    super(
      'GROUP_HOOK_TIMEOUT',
      `${hook} did not settle within the rebalance timeout (${timeoutMs} ms), so the member went on without it. ` +
        `Make ${hook} finish sooner (abort long work, commit only what is done) or raise rebalanceTimeoutMs.`,
    )
    this.hook = hook
    this.timeoutMs = timeoutMs
  }
}

/** A rebalance hook threw. The member still goes on: a hook cannot veto a rebalance. */
export class RebalanceHookError extends BatonError {
  readonly hook: RebalanceHookName

  constructor(hook: RebalanceHookName, cause: unknown) {
    super('GROUP_HOOK_FAILED', `${hook} threw; the rebalance went on without it`, { cause })
    this.hook = hook
  }
}

export type CommitFailedCode = 'GROUP_COMMIT_REBALANCE' | 'GROUP_COMMIT_NOT_MEMBER' | 'GROUP_COMMIT_FAILED'

/**
 * An offset commit was refused. `GROUP_COMMIT_REBALANCE` means the group moved to another generation
 * (or is rebalancing) so the offsets were not stored: `commit()` already waited out the rebalance
 * where it could, and it never sends offsets under a newer generation for partitions that may by
 * then belong to another member.
 */
export class CommitFailedError extends BatonError {
  declare readonly code: CommitFailedCode
  /** The broker's error, when the broker refused the commit. */
  readonly kafkaError: KafkaError | undefined

  constructor(code: CommitFailedCode, message: string, kafkaError?: KafkaError, cause: unknown = kafkaError) {
    super(code, message, cause === undefined ? undefined : { cause })
    this.kafkaError = kafkaError
  }
}

export type MembershipErrorCode =
  | 'GROUP_CLOSED'
  | 'GROUP_FATAL'
  | 'GROUP_CLOSE_TIMEOUT'
  | 'GROUP_TOPIC_MISSING'
  | 'GROUP_METADATA'
  | 'GROUP_LEAVE_FAILED'
  | 'GROUP_POLL_TIMEOUT'
  | 'GROUP_STATIC_UNSUPPORTED'

/** The member is closed or failed for good, left for lack of polls, or a background step (metadata check, LeaveGroup) failed. */
export class MembershipError extends BatonError {
  declare readonly code: MembershipErrorCode

  constructor(code: MembershipErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options)
  }
}

export function fencedMessage(instanceId: string | null): string {
  return (
    `another member joined with group.instance.id ${JSON.stringify(instanceId)} and fenced this one (KIP-345); ` +
    'give every running instance its own group.instance.id'
  )
}
