/**
 * The application's seek (`app.seek`, `ctx.seek`; README "Seek"): a small hand-off within one
 * ownership. At once, the partition's worker stops as on a revocation (nothing more starts, its
 * queue is dropped, `ctx.revoking` for its running handlers) and a new worker starting at the
 * target takes its place. Then the old handlers get `drainTimeoutMs` to settle (they are aborted
 * after it), the new worker starts, and its position, the target, is committed.
 */
import type { ConsumerPort, SeekOffset, TopicPartition } from './consumer-port.js'
import { PartitionNotOwnedError } from '../client/index.js'
import type { DeliveryMode } from './delivery/types.js'
import { AppStateError, ConfigError, ProcessingAbortedError } from './errors.js'
import type { Logger } from './logger.js'
import type { PartitionWorker } from './partition-worker.js'
import { settlesWithin } from './settles-within.js'

/** What a seek needs of the processor that owns the partition's workers. */
export interface SeekHost {
  readonly consumer: ConsumerPort
  readonly logger: Logger
  readonly drainTimeoutMs: number
  isStopping(): boolean
  /** The partition's worker now, if any. */
  worker(tp: TopicPartition): PartitionWorker | undefined
  /** The delivery mode of the route that consumes the partition. */
  deliveryMode(tp: TopicPartition): DeliveryMode
  /** Puts a new worker for the partition in `old`'s place, to start once `old`'s handlers settled. */
  replace(tp: TopicPartition, old: PartitionWorker): PartitionWorker
  /** Commits the offsets of the workers `workersOf` gives when the commit's turn comes. */
  commit(workersOf: () => PartitionWorker[]): Promise<unknown>
}

/**
 * Seeks `tp` to `offset`. Resolves after the target was committed (a failed commit is logged and
 * retried with the next). Throws `PartitionNotOwnedError` for a partition not owned, or being revoked.
 */
export function seekPartition(host: SeekHost, tp: TopicPartition, offset: SeekOffset): Promise<void> {
  const old = host.worker(tp)
  if (host.isStopping()) throw new AppStateError(`cannot seek ${tp.topic}[${tp.partition}]: the app is stopping`)
  if (old === undefined || old.state !== 'active') {
    throw new PartitionNotOwnedError(tp.topic, tp.partition, 'seek', 'seek a partition this instance owns now: from its handler with ctx.seek(), or after it was assigned')
  }
  const port = host.consumer
  if (port.seek === undefined) throw new ConfigError('consumer', 'the consumer passed to baton() has no seek(); implement ConsumerPort.seek to seek partitions')
  if (typeof offset === 'bigint' ? offset < 0n : offset !== 'earliest' && offset !== 'latest') {
    throw new ConfigError('seek offset', `give a non-negative bigint, 'earliest' or 'latest', got ${String(offset)}`)
  }
  const mode = host.deliveryMode(tp)
  if (mode !== 'at-least-once') {
    // A transactional or store route's position lives with its outputs (held, or in the
    // application's database); moving it alone would write them twice or skip them.
    throw new ConfigError(
      'seek',
      `${tp.topic}[${tp.partition}] is consumed with delivery '${mode}', where a seek is not supported: stop the app and move the group's offsets ` +
        `(baton groups reset-offsets${mode === 'store' ? ', and the offset row in the store table' : ''}), or consume the topic with delivery 'at-least-once'`,
    )
  }
  // A seek to an offset reaches the consumer at once (the port throws, before anything changed here, if it no longer owns the partition).
  if (typeof offset === 'bigint') port.seek(tp, offset)
  const fetchPaused = old.fetchPaused
  old.beginRevoke()
  const fresh = host.replace(tp, old)
  if (typeof offset === 'bigint') fresh.positionAt(offset)
  // The old queue, full or not, is gone: fetching of the partition goes on.
  if (fetchPaused) port.resume([tp])
  return completeSeek(host, fresh, tp, offset)
}

async function completeSeek(host: SeekHost, fresh: PartitionWorker, tp: TopicPartition, offset: SeekOffset): Promise<void> {
  const current = (): boolean => host.worker(tp) === fresh && fresh.state === 'active'
  let target = typeof offset === 'bigint' ? offset : undefined
  if (typeof offset !== 'bigint') {
    // The log's start or end as an offset, so that the new position is committed at once.
    try {
      target = await host.consumer.offsetOf?.(tp, offset)
    } catch (error) {
      host.logger.warn({ err: error, partition: `${tp.topic}[${tp.partition}]`, offset }, `could not look up the ${offset} offset; seeking there without it, committed once records arrive`)
    }
    if (!current()) return
    try {
      host.consumer.seek?.(tp, target ?? offset)
    } catch (error) {
      // The consumer let go of the partition meanwhile: its hand-off is under way.
      host.logger.warn({ err: error, partition: `${tp.topic}[${tp.partition}]`, offset }, 'seek abandoned: the partition is being revoked')
      return
    }
    fresh.positionAt(target)
  }
  const { drainTimeoutMs } = host
  let aborted = 0
  if (!(await settlesWithin(fresh.predecessorsIdle(), drainTimeoutMs))) {
    aborted = fresh.abortPredecessors(
      new ProcessingAbortedError('PROCESSING_DRAIN_TIMEOUT', `${tp.topic}[${tp.partition}] was seeked and its handlers from before did not settle within drainTimeoutMs (${drainTimeoutMs} ms)`),
    )
  }
  if (!current()) return
  fresh.startAfterSeek()
  host.logger.info({ partition: `${tp.topic}[${tp.partition}]`, offset: String(target ?? offset), aborted }, 'seek done: processing continues from the target')
  try {
    await host.commit(() => (current() ? [fresh] : []))
  } catch (error) {
    host.logger.warn({ err: error, partition: `${tp.topic}[${tp.partition}]` }, "the seek's commit failed; the next commit carries the new position")
  }
}
