/**
 * One partition's view of transactions (KIP-98): which producers have a transaction open on it and
 * from which offset, and the index of aborted transactions that read_committed fetches return.
 *
 * The last stable offset is the first offset of the oldest open transaction, or the high watermark
 * when none is open: everything below it is decided (committed, aborted or not transactional), so a
 * read_committed consumer may read up to it and no further. A transaction's first offset is always
 * a batch's base offset, so the LSO falls on a batch boundary.
 *
 * Rebuilt from the log on recovery: transactional data batches open a transaction, control batches
 * (the markers) close it, exactly as on the append path.
 */

export interface AbortedTransaction {
  readonly producerId: bigint
  /** Offset of the transaction's first batch on this partition. */
  readonly firstOffset: number
  /** Offset of the ABORT marker that closed it. */
  readonly lastOffset: number
}

export interface OpenTransaction {
  readonly producerId: bigint
  readonly producerEpoch: number
  readonly firstOffset: number
}

export class PartitionTransactions {
  private readonly open = new Map<bigint, OpenTransaction>()
  /** Ordered by lastOffset, since markers are appended in offset order. */
  private aborted: AbortedTransaction[] = []

  /** A batch was appended (or recovered) at `baseOffset`; a transactional one opens a transaction if none is open. */
  onData(producerId: bigint, producerEpoch: number, baseOffset: number, transactional: boolean): void {
    if (!transactional || this.open.has(producerId)) return
    this.open.set(producerId, { producerId, producerEpoch, firstOffset: baseOffset })
  }

  /** A COMMIT or ABORT marker was appended at `offset`: the producer's open transaction, if any, is decided. */
  onMarker(producerId: bigint, offset: number, commit: boolean): void {
    const open = this.open.get(producerId)
    if (open === undefined) return
    this.open.delete(producerId)
    if (!commit) this.aborted.push({ producerId, firstOffset: open.firstOffset, lastOffset: offset })
  }

  lastStableOffset(highWatermark: number): number {
    let lso = highWatermark
    for (const t of this.open.values()) if (t.firstOffset < lso) lso = t.firstOffset
    return lso
  }

  /** The open transaction of `producerId` on this partition, if any. */
  openTransaction(producerId: bigint): OpenTransaction | undefined {
    return this.open.get(producerId)
  }

  openTransactions(): IterableIterator<OpenTransaction> {
    return this.open.values()
  }

  /**
   * Aborted transactions a fetch from `fetchOffset` up to (not including) `upperBound` must be told
   * about: those that end at or after the fetch offset and start before the bound.
   */
  abortedBetween(fetchOffset: number, upperBound: number): AbortedTransaction[] {
    const found: AbortedTransaction[] = []
    // Scan from the newest: entries ending before fetchOffset are sorted below.
    for (let i = this.aborted.length - 1; i >= 0; i--) {
      const t = this.aborted[i]!
      if (t.lastOffset < fetchOffset) break
      if (t.firstOffset < upperBound) found.push(t)
    }
    return found.reverse()
  }

  /** Forgets aborted transactions wholly below the log start (retention, DeleteRecords). */
  trimBelow(logStartOffset: number): void {
    if (this.aborted.length > 0 && this.aborted[0]!.lastOffset < logStartOffset) this.aborted = this.aborted.filter((t) => t.lastOffset >= logStartOffset)
  }
}
