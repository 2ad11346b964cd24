/**
 * One librdkafka consumer with group.protocol=consumer (KIP-848), in a process of its own so that a
 * test can kill it (a crash the coordinator only notices when the session expires). It prints one
 * JSON line per event, stamped with the machine's clock so a parent can order the events of
 * several processes: {"ev":"assign"|"revoke","partitions":[...],"t":…}, {"ev":"data","partition":p,
 * "value":"…","t":…}. SIGTERM closes the consumer gracefully (leave the group); it then prints
 * {"ev":"closed"} and exits.
 *
 * Usage: node --import tsx rdkafka-kip848-member.ts <bootstrap> <group> <topic> [assignor]
 */
import Kafka from '@confluentinc/kafka-javascript'

const [bootstrap, groupId, topic, assignor] = process.argv.slice(2)
if (bootstrap === undefined || groupId === undefined || topic === undefined) throw new Error('usage: <bootstrap> <group> <topic> [assignor]')

const now = (): number => performance.timeOrigin + performance.now()
const emit = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify({ ...event, t: now() })}\n`)

const consumer = new Kafka.KafkaConsumer(
  {
    'bootstrap.servers': bootstrap,
    'group.id': groupId,
    'group.protocol': 'consumer',
    ...(assignor === undefined ? {} : { 'group.remote.assignor': assignor }),
    'enable.auto.commit': true,
    'auto.commit.interval.ms': 100,
    rebalance_cb: true,
  },
  { 'auto.offset.reset': 'earliest' },
)
// With rebalance_cb: true the library assigns and unassigns incrementally itself; with auto commit
// on, librdkafka commits the stored offsets of revoked partitions before acknowledging them.
consumer.on('rebalance', (err, assignment) => {
  const partitions = assignment.map((a) => a.partition)
  emit({ ev: err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS ? 'assign' : 'revoke', partitions })
})
consumer.on('data', (message) => emit({ ev: 'data', partition: message.partition, offset: message.offset, value: message.value?.toString() ?? '' }))
consumer.on('event.error', (err) => emit({ ev: 'error', message: err.message }))
consumer.connect({}, (err) => {
  if (err) {
    emit({ ev: 'error', message: err.message })
    process.exit(1)
  }
  consumer.subscribe([topic])
  consumer.consume()
  emit({ ev: 'started' })
})
// A test process that dies (or is killed by a timeout) must not leave members behind.
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) process.exit(1)
}, 500).unref()
process.on('SIGTERM', () => {
  // A disconnect that cannot finish (the broker is gone) must not keep the process alive.
  setTimeout(() => process.exit(1), 20_000).unref()
  consumer.disconnect(() => {
    emit({ ev: 'closed' })
    process.exit(0)
  })
})
