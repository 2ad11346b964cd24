/**
 * How the broker's group handlers reach the coordinator: one GroupCoordinator per broker process
 * (keyed by its Cluster, which every node shares), created on first use and closed when the broker
 * stops. With a data directory it keeps groups and offsets under `<dataDir>/group-coordinator/`.
 *
 * Options come from the broker's `groups` option over the embedded defaults: no initial rebalance
 * delay (Kafka's 3 s only slows tests and `npm start`) and Kafka's defaults for everything else.
 */
import { join } from 'node:path'
import type { Cluster } from '../cluster.js'
import type { BrokerContext, RequestContext } from '../handlers/handler.js'
import type { GroupCoordinatorOptions } from './config.js'
import { GroupCoordinator } from './coordinator.js'
import { FileGroupStore } from './file-store.js'

const coordinators = new WeakMap<Cluster, GroupCoordinator>()

/** The embedded broker's departures from Kafka's defaults. */
export const EMBEDDED_GROUP_DEFAULTS: GroupCoordinatorOptions = { initialRebalanceDelayMs: 0 }

export function groupCoordinatorOf(ctx: BrokerContext): GroupCoordinator {
  const existing = coordinators.get(ctx.cluster)
  if (existing !== undefined) return existing
  const dataDir = ctx.options.dataDir
  const store = dataDir === null ? undefined : new FileGroupStore(join(dataDir, 'group-coordinator'), ctx.options.logger, { fsync: ctx.options.fsync })
  const coordinator = new GroupCoordinator({ ...EMBEDDED_GROUP_DEFAULTS, ...ctx.options.groups, store })
  coordinators.set(ctx.cluster, coordinator)
  if (ctx.stopping.aborted) coordinator.close()
  else ctx.stopping.addEventListener('abort', () => coordinator.close(), { once: true })
  return coordinator
}

/** Whether this node coordinates `key`; the others answer NOT_COORDINATOR so clients look it up. */
export function coordinatesHere(ctx: RequestContext, key: string): boolean {
  return groupCoordinatorOf(ctx).coordinatorNode(key, ctx.cluster.nodes.length) === ctx.node.nodeId
}

/** Kafka reports a member's host as Java prints an address ("/127.0.0.1"); '' when unknown. */
export function clientHostOf(ctx: RequestContext): string {
  return ctx.connection?.clientHost ?? ''
}
