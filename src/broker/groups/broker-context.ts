/**
 * How the broker's group handlers reach the coordinator: one GroupCoordinator per broker process,
 * held by the context every node shares (`BrokerContext.groups`), created on first use and closed
 * when the broker stops. With a data directory it keeps groups and offsets under
 * `<dataDir>/group-coordinator/`.
 *
 * Options come from the broker's `groups` option over the embedded defaults: no initial rebalance
 * delay (Kafka's 3 s only slows tests and `npm start`) and Kafka's defaults for everything else.
 */
import { join } from 'node:path'
import type { Cluster } from '../cluster.js'
import type { ResolvedBrokerOptions } from '../options.js'
import type { BrokerContext, RequestContext } from '../handlers/handler.js'
import type { GroupCoordinatorOptions } from './config.js'
import { GroupCoordinator } from './coordinator.js'
import { FileGroupStore } from './file-store.js'

/** The embedded broker's departures from Kafka's defaults. */
export const EMBEDDED_GROUP_DEFAULTS: GroupCoordinatorOptions = { initialRebalanceDelayMs: 0 }

/** The broker's coordinator, made the first time a group request needs it and closed when `stopping` aborts. */
export function lazyGroupCoordinator(options: ResolvedBrokerOptions, stopping: AbortSignal, cluster: Cluster): () => GroupCoordinator {
  let coordinator: GroupCoordinator | undefined
  return () => {
    if (coordinator !== undefined) return coordinator
    const dataDir = options.dataDir
    const store = dataDir === null ? undefined : new FileGroupStore(join(dataDir, 'group-coordinator'), options.logger, { fsync: options.fsync })
    const made = new GroupCoordinator({ ...EMBEDDED_GROUP_DEFAULTS, ...options.groups, store })
    // Consumer groups (KIP-848) read subscriptions, regex matches and partition counts from here.
    made.attachTopics({
      partitionCount: (topic) => cluster.topic(topic)?.partitions.length,
      names: () => [...cluster.topics].map((t) => t.name),
    })
    coordinator = made
    if (stopping.aborted) made.close()
    else stopping.addEventListener('abort', () => made.close(), { once: true })
    return made
  }
}

export function groupCoordinatorOf(ctx: BrokerContext): GroupCoordinator {
  return ctx.groups()
}

/** Whether this node coordinates `key`; the others answer NOT_COORDINATOR so clients look it up. */
export function coordinatesHere(ctx: RequestContext, key: string): boolean {
  return groupCoordinatorOf(ctx).coordinatorNode(key, ctx.cluster.nodes.length) === ctx.node.nodeId
}

/** Kafka reports a member's host as Java prints an address ("/127.0.0.1"); '' when unknown. */
export function clientHostOf(ctx: RequestContext): string {
  return ctx.connection?.clientHost ?? ''
}
