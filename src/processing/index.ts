/**
 * The processing layer's entry: the application's API (`api.ts`, which is also the package root),
 * plus the ports the lab and `baton/testing` build on. See `app.ts` for an example.
 */
export * from './api.js'
export type {
  ConsumerPort,
  ConsumerEvents,
  RebalanceListener,
  AssignedPartition,
  FetchedBatch,
  FetchedRecord,
  OffsetToCommit,
  ProducerPort,
  ProducedRecord,
} from './consumer-port.js'
export { GroupConsumerPort, ClientProducerPort, type GroupConsumerPortConfig } from './adapters/index.js'
/** The store's schema set-up, for the lab's own tables beside the offsets. */
export { ensureTable } from './store/sql.js'
