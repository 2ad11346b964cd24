/**
 * Which delivery each route's done work goes through, and the fan-out to them: a commit split by
 * delivery, partitions leaving this member told to the deliveries that hold something for them,
 * the batch windows of deliveries that batch their commits. Routes without a delivery of their own
 * commit to the group (at-least-once).
 */
import type { ConsumerPort, OffsetToCommit, TopicPartition } from './consumer-port.js'
import { AtLeastOnceDelivery } from './delivery/at-least-once.js'
import type { CommitReason, Delivery } from './delivery/types.js'
import type { Logger } from './logger.js'
import type { PartitionWorkerOptions } from './partition-worker.js'
import { describePartitions } from './settles-within.js'
import { routeFor, type SubscribedRoute } from './subscription.js'

/** The routes, by name or pattern, and how to find each one's delivery. */
export interface RouteDeliveriesOptions<R extends SubscribedRoute> {
  readonly routes: ReadonlyMap<string, R>
  readonly consumer: ConsumerPort
  readonly logger: Logger
  /** A route's own delivery; undefined for the default, at-least-once. */
  readonly deliveryFor?: (route: R) => Delivery | undefined
}

export class RouteDeliveries<R extends SubscribedRoute> {
  private readonly fallback: Delivery
  private readonly byRouteCache = new Map<R, Delivery>()

  constructor(private readonly options: RouteDeliveriesOptions<R>) {
    this.fallback = new AtLeastOnceDelivery(options.consumer)
  }

  /** The route's delivery, chosen once. */
  of(route: R | undefined): Delivery {
    if (route === undefined) return this.fallback
    let delivery = this.byRouteCache.get(route)
    if (delivery === undefined) {
      delivery = this.options.deliveryFor?.(route) ?? this.fallback
      this.byRouteCache.set(route, delivery)
    }
    return delivery
  }

  /** Every delivery in use, once each (routes may share one). */
  get inUse(): Delivery[] {
    return [...new Set(this.byRouteCache.values())]
  }

  /** Partitions grouped by the route that handles them (undefined: no route does). */
  byRoute<T extends TopicPartition>(partitions: readonly T[]): Map<R | undefined, T[]> {
    const groups = new Map<R | undefined, T[]>()
    for (const tp of partitions) {
      const route = routeFor(this.options.routes, tp.topic)
      const group = groups.get(route)
      if (group === undefined) groups.set(route, [tp])
      else group.push(tp)
    }
    return groups
  }

  /** Each delivery commits its routes' offsets; all of them at once. */
  async commit(offsets: readonly OffsetToCommit[], reason: CommitReason): Promise<void> {
    const groups = this.byRoute(offsets)
    if (groups.size === 1) {
      const [route] = groups.keys()
      await this.of(route).commit(offsets, reason)
      return
    }
    const byDelivery = new Map<Delivery, OffsetToCommit[]>()
    for (const [route, group] of groups) {
      const delivery = this.of(route)
      byDelivery.set(delivery, [...(byDelivery.get(delivery) ?? []), ...group])
    }
    const results = await Promise.allSettled([...byDelivery].map(([delivery, group]) => delivery.commit(group, reason)))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    // What the other deliveries stored is committed again next time, which changes nothing.
    if (failed !== undefined) throw failed.reason
  }

  /** Partitions left this member (lost, or released after their hand-off): each delivery lets go of what it holds for them. */
  async letGo(partitions: readonly TopicPartition[], what: 'lost' | 'released'): Promise<void> {
    for (const [route, tps] of this.byRoute(partitions.map(({ topic, partition }) => ({ topic, partition })))) {
      const delivery = route === undefined ? undefined : this.of(route)
      try {
        await (what === 'lost' ? delivery?.lost?.(tps) : delivery?.released?.(tps))
      } catch (error) {
        this.options.logger.warn({ err: error, partitions: describePartitions(tps), delivery: delivery?.mode }, `the delivery failed to let go of ${what} partitions`)
      }
    }
  }

  /** Waits for the batch window of every delivery that batches its commits (transactional). */
  async batchWindows(): Promise<void> {
    for (const delivery of this.inUse) if (delivery.batchWindow !== undefined) await delivery.batchWindow()
  }

  /** For a worker of `tp` on `route`: a delivery that writes outputs itself gets each done job's; undefined for the others. */
  hold(route: R, tp: TopicPartition): PartitionWorkerOptions['hold'] {
    const delivery = this.of(route)
    if (delivery.hold === undefined) return undefined
    const at = { topic: tp.topic, partition: tp.partition }
    return (offsets, outputs) => delivery.hold?.(at, offsets, outputs) ?? true
  }
}
