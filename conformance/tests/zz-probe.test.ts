import Kafka from '@confluentinc/kafka-javascript'
import { startBroker } from '../../src/broker/index.js'
import { it } from 'node:test'
it('probe', async () => {
const broker = await startBroker({ nodes: 1, memory: true, groups: { consumerHeartbeatIntervalMs: 300, consumerSessionTimeoutMs: 4000 } })
broker.createTopic('t', { partitions: 6 })
const bootstrap = broker.bootstrap.join(',')
function member(name: string) {
  const assigned = new Set<number>()
  const c = new Kafka.KafkaConsumer({ 'bootstrap.servers': bootstrap, 'group.id': 'g', 'group.protocol': 'consumer', rebalance_cb: true, debug: 'cgrp', } as any, { 'auto.offset.reset': 'earliest' })
  c.on('event.log', (l: any) => { if (/error|fail|unsupported/i.test(l.message)) console.log(name, l.message) })
  c.on('rebalance', (err: any, a: any[]) => { const ps = a.map((x) => x.partition); if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) ps.forEach((p) => assigned.add(p)); else ps.forEach((p) => assigned.delete(p)); console.log(name, err.code, ps, [...assigned]) })
  return new Promise<any>((res) => c.connect({}, () => { c.subscribe(['t']); c.consume(); res({ c, assigned }) }))
}
const a = await member('a')
await new Promise((r) => setTimeout(r, 3000))
const b = await member('b')
await new Promise((r) => setTimeout(r, 4000))
console.log('a', [...a.assigned], 'b', [...b.assigned])
await new Promise<void>((r) => a.c.disconnect(() => r()))
await new Promise((r) => setTimeout(r, 3000))
console.log('b', [...b.assigned])
await new Promise<void>((r) => b.c.disconnect(() => r()))
await broker.stop()
})
