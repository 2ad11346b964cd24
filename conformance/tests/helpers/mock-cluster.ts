import Kafka from '@confluentinc/kafka-javascript'

export interface MockCluster {
  bootstrap: string
  stop: () => Promise<void>
}

/**
 * Starts librdkafka's mock cluster: a librdkafka client created with `test.mock.num.brokers` runs
 * it for as long as the client lives, and logs its bootstrap list, which other clients can use.
 */
export function startMockCluster(brokers = 3): Promise<MockCluster> {
  // A test-only librdkafka property, absent from the package's typed configuration.
  const config = { 'test.mock.num.brokers': brokers, 'bootstrap.servers': 'unused:9092', event_cb: true } as Kafka.ProducerGlobalConfig
  const owner = new Kafka.Producer(config)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the mock cluster did not log its bootstrap list within 20 s')), 20_000)
    owner.on('event.log', (log: { message: string }) => {
      const match = /replaced with ((?:\d+\.\d+\.\d+\.\d+:\d+,?)+)/.exec(log.message)
      if (!match) return
      clearTimeout(timer)
      resolve({ bootstrap: match[1]!, stop: () => new Promise((done) => owner.disconnect(() => done())) })
    })
    owner.connect()
  })
}
