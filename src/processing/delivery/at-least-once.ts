/**
 * The default delivery: done offsets are committed to the consumer group. A crash between a
 * record's effect and the commit that covers it runs the record again on the next owner; the
 * processor keeps that window short by committing as work completes.
 */
import type { ConsumerPort, OffsetToCommit } from '../consumer-port.js'
import type { Delivery } from './types.js'

export class AtLeastOnceDelivery implements Delivery {
  readonly mode = 'at-least-once'

  constructor(private readonly consumer: ConsumerPort) {}

  commit(offsets: readonly OffsetToCommit[]): Promise<void> {
    return this.consumer.commit(offsets)
  }
}
