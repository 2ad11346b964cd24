/**
 * A partition's leader epoch history (Kafka's leader-epoch-checkpoint, KIP-101): the first offset
 * written under each leader epoch. OffsetForLeaderEpoch answers from it, which is how clients check,
 * after a leader change, that the log they were reading was not truncated under them (KIP-320).
 * The one log is truncated only by fault injection (`Faults.truncateLog`, an unclean leader
 * election), which is what makes a client's history diverge.
 */
const UNDEFINED = -1

export interface EpochEndOffset {
  readonly leaderEpoch: number
  readonly endOffset: number
}

export class LeaderEpochCache {
  private readonly entries: { epoch: number; startOffset: number }[] = []

  /** Notes that `epoch` starts at `startOffset`; older or repeated epochs change nothing. */
  record(epoch: number, startOffset: number): void {
    if (epoch < 0) return
    const last = this.entries[this.entries.length - 1]
    if (last === undefined || epoch > last.epoch) this.entries.push({ epoch, startOffset })
  }

  /** Forgets the epochs that start at or after `offset`: the log was cut there. */
  truncateFrom(offset: number): void {
    while (this.entries.length > 0 && this.entries[this.entries.length - 1]!.startOffset >= offset) this.entries.pop()
  }

  /**
   * Kafka's rule: the latest epoch ends at the log end; an older one ends where the next epoch
   * starts, answered with the largest known epoch not above it; an epoch newer than any known is
   * undefined.
   */
  endOffsetFor(requested: number, logEndOffset: number): EpochEndOffset {
    const latest = this.entries[this.entries.length - 1]
    if (requested === UNDEFINED || latest === undefined) return { leaderEpoch: UNDEFINED, endOffset: UNDEFINED }
    if (requested === latest.epoch) return { leaderEpoch: requested, endOffset: logEndOffset }
    const higherAt = this.entries.findIndex((e) => e.epoch > requested)
    if (higherAt < 0) return { leaderEpoch: UNDEFINED, endOffset: UNDEFINED }
    const higher = this.entries[higherAt]!
    const floor = this.entries[higherAt - 1]
    return { leaderEpoch: floor?.epoch ?? requested, endOffset: higher.startOffset }
  }
}
