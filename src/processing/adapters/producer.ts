/** The framework's `ProducerPort` over baton's `Producer` (idempotent by default). */
import { Producer, type ProducerConfig } from '../../client/index.js'
import type { ProducedRecord, ProducerPort } from '../consumer-port.js'

export class ClientProducerPort implements ProducerPort {
  readonly producer: Producer

  constructor(config: ProducerConfig) {
    this.producer = new Producer(config)
  }

  async send(record: ProducedRecord): Promise<void> {
    await this.producer.send({
      topic: record.topic,
      value: record.value,
      ...(record.key === undefined ? {} : { key: record.key }),
      ...(record.partition === undefined ? {} : { partition: record.partition }),
      ...(record.headers === undefined ? {} : { headers: record.headers }),
    })
  }

  close(): Promise<void> {
    return this.producer.close()
  }
}
