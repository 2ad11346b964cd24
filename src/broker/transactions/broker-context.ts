/**
 * How the broker reaches its transaction coordinator: one per broker process, held by the context
 * every node shares (`BrokerContext.transactions`), made when the broker starts so that
 * transactions decided or left open before a restart are finished or timed out without waiting
 * for a client, and closed when it stops. With a data directory it keeps its state under
 * `<dataDir>/transaction-coordinator/`.
 */
import { join } from 'node:path'
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import type { Cluster } from '../cluster.js'
import type { GroupCoordinator } from '../groups/coordinator.js'
import type { BrokerContext, RequestContext } from '../handlers/handler.js'
import type { ResolvedBrokerOptions } from '../options.js'
import { resolveTransactionOptions } from './config.js'
import { TransactionCoordinator } from './coordinator.js'
import { FileTransactionStore } from './file-store.js'
import { MemoryTransactionStore } from './store.js'

/**
 * Makes the broker's transaction coordinator (recovering what its store holds) and closes it when
 * `stopping` aborts. `groups` is the group coordinator, which committed offsets go to.
 */
export function startTransactionCoordinator(cluster: Cluster, options: ResolvedBrokerOptions, groups: () => GroupCoordinator, stopping: AbortSignal): TransactionCoordinator {
  const store =
    options.dataDir === null ? new MemoryTransactionStore() : new FileTransactionStore(join(options.dataDir, 'transaction-coordinator'), options.logger, { fsync: options.fsync })
  const coordinator = new TransactionCoordinator({
    config: resolveTransactionOptions(options.transactions),
    store,
    allocateProducerId: () => cluster.producerIds.allocate(),
    observeProducerId: (producerId) => cluster.producerIds.observe(producerId),
    partitionOf: (topic, partition) => cluster.partition(topic, partition),
    allPartitions: () => [...cluster.topics].flatMap((t) => t.partitions),
    applyOffsets: (groupId, offsets) => groups().applyTransactionalOffsets(groupId, offsets),
    logger: options.logger,
    fsync: options.fsync,
  })
  if (stopping.aborted) coordinator.close()
  else stopping.addEventListener('abort', () => coordinator.close(), { once: true })
  return coordinator
}

export function transactionCoordinatorOf(ctx: BrokerContext): TransactionCoordinator {
  return ctx.transactions()
}

/** Whether this node coordinates `transactionalId`; the others answer NOT_COORDINATOR so clients look it up. */
export function transactionsHere(ctx: RequestContext, transactionalId: string): boolean {
  return transactionCoordinatorOf(ctx).coordinatorNode(transactionalId, ctx.cluster.nodes.length) === ctx.node.nodeId
}

/** Versions before PRODUCER_FENCED existed get INVALID_PRODUCER_EPOCH for it, as Kafka answers them. */
export function fencedForVersion(errorCode: number, version: number, firstVersionWithFenced: number): number {
  return errorCode === KafkaErrorCode.PRODUCER_FENCED && version < firstVersionWithFenced ? KafkaErrorCode.INVALID_PRODUCER_EPOCH : errorCode
}
