import { createRequire } from 'node:module'
const require = createRequire('/work/main/conformance/package.json')
const Kafka = require('@confluentinc/kafka-javascript')
const { Producer, Consumer, Admin } = await import('../../src/client/index.js')
const rd = new Kafka.Producer({ 'test.mock.num.brokers': 3, 'bootstrap.servers': 'dummy:9092', debug: 'mock', event_cb: true })
const bootstrap: string = await new Promise((resolve) => {
  rd.on('event.log', (l: { message: string }) => {
    const m = /bootstrap\.servers.*?(\d+\.\d+\.\d+\.\d+:\d+(?:,\d+\.\d+\.\d+\.\d+:\d+)*)/.exec(l.message)
    if (m) resolve(m[1]!)
  })
  rd.connect()
})
console.log('mock bootstrap', bootstrap)
for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
  const topic = `mock-${compression}`
  const producer = new Producer({ bootstrapServers: bootstrap, compression, lingerMs: 5 })
  const t0 = Date.now()
  const sent = await Promise.all(Array.from({ length: 10000 }, (_, i) => producer.send({ topic, key: `k${i}`, value: `value-${i}` })))
  await producer.close()
  const parts = new Set(sent.map((s) => s.partition))
  const consumer = new Consumer({ bootstrapServers: bootstrap, autoOffsetReset: 'earliest' })
  await consumer.assign([...parts].map((partition) => ({ topic, partition })))
  let n = 0
  const seen = new Set<string>()
  for await (const r of consumer) { seen.add(r.value!.toString()); if (++n >= 10000) break }
  await consumer.close()
  console.log(compression, 'produced', sent.length, 'partitions', [...parts].sort().join(','), 'consumed', n, 'distinct', seen.size, `${Date.now() - t0} ms`)
}
const admin = new Admin({ bootstrapServers: bootstrap })
console.log(await admin.describeCluster())
console.log(await admin.listOffsets('mock-none', 'latest'))
await admin.close()
rd.disconnect()
setTimeout(() => process.exit(0), 500)
