/** The embedded broker set up the way a test wants it: in memory, on a free loopback port, topics made up front. */
import { startBroker, type BrokerOptions, type EmbeddedBroker } from '../broker/index.js'

export interface TestBrokerOptions extends Omit<BrokerOptions, 'port' | 'dataDir' | 'memory'> {
  /** Topics to create before the broker is handed over, with their partition counts. */
  readonly topics?: Readonly<Record<string, number>>
}

/**
 * Starts an embedded broker for a test; `stop()` it when done. Topics are not created on first use
 * unless `autoCreateTopics` says so, so that a misspelt topic fails the test instead of passing on
 * an empty one.
 */
export async function startTestBroker(options: TestBrokerOptions = {}): Promise<EmbeddedBroker> {
  const { topics = {}, ...broker } = options
  const started = await startBroker({ autoCreateTopics: false, ...broker, port: 0, memory: true })
  try {
    for (const [name, partitions] of Object.entries(topics)) started.createTopic(name, { partitions })
  } catch (error) {
    await started.stop()
    throw error
  }
  return started
}
