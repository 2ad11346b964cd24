/** Errors of the group consumer; branch on the class or its `code`. */
import { BatonError } from '../../protocol/errors/base.js'

/**
 * An offset was to be committed (or a partition paused or seeked) for a partition this member does
 * not own now: committing it could overwrite the progress of the member that does, and a seek would
 * move nothing. The framework throws it too, for `app.seek` and `ctx.seek`.
 */
export class PartitionNotOwnedError extends BatonError {
  readonly topic: string
  readonly partition: number

  /** `remedy` says what to do instead; by default, what a commit should have done. */
  constructor(topic: string, partition: number, what: string, remedy = 'commit only offsets of records received since the last assignment') {
    super(
      'GROUP_PARTITION_NOT_OWNED',
      `cannot ${what} ${topic}[${partition}]: this member does not own it now (it was never assigned, or is being revoked, or was revoked or lost); ${remedy}`,
    )
    this.topic = topic
    this.partition = partition
  }
}

/**
 * Newly assigned partitions could not be started: their committed offsets could not be read, so
 * fetching them from anywhere could skip or repeat records. The consumer stops.
 */
export class AssignmentFailedError extends BatonError {
  constructor(options?: ErrorOptions) {
    super(
      'GROUP_ASSIGNMENT_FAILED',
      'the committed offsets of newly assigned partitions could not be read from the group coordinator, so this consumer stopped; ' +
        'check that the coordinator is reachable and the group is authorized, then start a new consumer',
      options,
    )
  }
}
