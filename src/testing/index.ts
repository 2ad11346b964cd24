/**
 * `baton/testing`: what an application's own tests use.
 *
 * - `FakeCluster`, `FakeConsumer`, `FakeProducer`: an in-memory consumer group that a test scripts
 *   (rebalances, losses), passed to `baton({ consumer, producer })`; every step is recorded in order.
 * - `startTestBroker()`: the embedded Kafka broker in this process, in memory on a free port, for
 *   tests that run the real client against the real protocol.
 *
 * ```ts
 * import { baton } from 'baton'
 * import { startTestBroker } from 'baton/testing'
 * const broker = await startTestBroker({ topics: { orders: 3 } })
 * const app = baton({ brokers: broker.bootstrap, groupId: 'test' })
 * // ... app.consume('orders', handler); await app.start() ...
 * await app.stop()
 * await broker.stop()
 * ```
 */
export { FakeCluster, FakeConsumer, FakeProducer, type FakeClusterOptions, type FakeRecordInput, type HistoryEntry } from '../processing/testing/fake-consumer.js'
export type {
  AssignedPartition,
  ConsumerEvents,
  ConsumerPort,
  FetchedBatch,
  FetchedRecord,
  OffsetToCommit,
  ProducedRecord,
  ProducerPort,
  RebalanceListener,
  RecordHeader,
} from '../processing/index.js'
export { startTestBroker, type TestBrokerOptions } from './test-broker.js'
