import { Producer } from '../../src/client/producer/producer.js'
import { MockCluster } from './helpers/mock-cluster.js'
const cluster = await MockCluster.start(1)
cluster.createTopic('t', 3)
const producer = new Producer({ bootstrapServers: cluster.bootstrap, lingerMs: 60000 })
const sent = producer.send({ topic: 't', partition: 0, value: 'x' })
await producer.flush()
console.log((await sent).offset)
await producer.close(1000)
await cluster.close()
const handles = (process as any)._getActiveHandles()
for (const h of handles) console.log(h.constructor.name, h._idleTimeout, h._onTimeout?.toString().slice(0, 200))
