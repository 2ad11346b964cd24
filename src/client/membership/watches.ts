/**
 * Two periodic checks beside the heartbeat: topic metadata (new partitions, newly matching topics
 * call for a rebalance) and, when enabled, application liveness (max.poll.interval.ms).
 */
import type { BatonError } from '../../protocol/errors/base.js'
import { MembershipError } from './errors.js'
import type { GroupMetadataSource, Timers } from './transport.js'

/** Runs `check` every `intervalMs` until stopped; a failed check is reported and tried again next time. */
export class MetadataWatch {
  private handle: unknown
  private running = false

  constructor(
    private readonly timers: Timers,
    /** Asked before each wait: shorter while a subscribed topic is missing. */
    private readonly intervalMs: () => number,
    private readonly check: () => Promise<void>,
    private readonly report: (error: BatonError) => void,
  ) {}

  start(): void {
    if (this.running) return
    this.running = true
    this.schedule()
  }

  stop(): void {
    this.running = false
    this.timers.clearTimeout(this.handle)
  }

  /** Waits the interval as it is now (it may have become shorter) from now on. */
  reschedule(): void {
    if (!this.running) return
    this.timers.clearTimeout(this.handle)
    this.schedule()
  }

  private schedule(): void {
    this.handle = this.timers.setTimeout(() => {
      if (!this.running) return
      this.check().then(
        () => this.running && this.schedule(),
        (err: unknown) => {
          this.report(new MembershipError('GROUP_METADATA', 'checking topic metadata for changes failed; will try again at the next interval', { cause: err }))
          if (this.running) this.schedule()
        },
      )
    }, this.intervalMs())
  }
}

/**
 * Kafka's max.poll.interval.ms: if the application does not call poll() for longer than the
 * interval, it is stuck or too slow, and its partitions are better consumed by another member. The
 * heartbeat alone cannot tell, since it runs on its own timer whatever the application does.
 */
export class PollWatch {
  private handle: unknown
  private lastPoll = 0
  private running = false
  /** Set once the interval passed without a poll; cleared by the next poll. */
  expired = false

  constructor(
    private readonly timers: Timers,
    private readonly maxIntervalMs: number | undefined,
    private readonly onExpired: () => void,
  ) {}

  start(): void {
    if (this.maxIntervalMs === undefined || this.running) return
    this.running = true
    this.lastPoll = this.timers.now()
    this.arm()
  }

  stop(): void {
    this.running = false
    this.timers.clearTimeout(this.handle)
  }

  /** Records that the application polled; returns whether it came back after the interval had passed. */
  poll(): boolean {
    this.lastPoll = this.timers.now()
    const wasExpired = this.expired
    this.expired = false
    if (wasExpired && this.running) this.arm()
    return wasExpired
  }

  private arm(): void {
    const max = this.maxIntervalMs
    if (max === undefined) return
    this.timers.clearTimeout(this.handle)
    this.handle = this.timers.setTimeout(() => {
      if (!this.running) return
      const idle = this.timers.now() - this.lastPoll
      if (idle < max) return this.arm()
      this.expired = true
      this.onExpired()
    }, Math.max(1, this.lastPoll + max - this.timers.now()))
  }
}

/** The topics a subscription stands for now: the list itself, or the existing topics matching the pattern. */
export async function resolveTopics(subscription: readonly string[] | RegExp | undefined, metadata: GroupMetadataSource): Promise<string[]> {
  if (subscription === undefined) return []
  if (!(subscription instanceof RegExp)) return [...subscription]
  return (await metadata.listTopics()).filter((t) => subscription.test(t)).sort()
}

/**
 * Why the member should rejoin, if it should: its subscription now stands for other topics, or a
 * topic the assignment was computed from has a different partition count (watched by the leader only,
 * as in Kafka, since it is the one that assigns).
 */
export async function metadataChange(
  subscription: readonly string[] | RegExp | undefined,
  joinedTopics: readonly string[],
  partitionCounts: ReadonlyMap<string, number>,
  metadata: GroupMetadataSource,
): Promise<string | undefined> {
  const topics = await resolveTopics(subscription, metadata)
  const joined = new Set(joinedTopics)
  if (topics.length !== joined.size || !topics.every((t) => joined.has(t))) return 'subscribed topics changed'
  const counts = await metadata.partitionCounts([...partitionCounts.keys()])
  for (const [topic, count] of partitionCounts) {
    const now = counts.get(topic) ?? 0
    if (now !== count) return count === 0 ? `subscribed topic ${JSON.stringify(topic)} was created` : `partition count of ${JSON.stringify(topic)} changed`
  }
  return undefined
}
