/**
 * A producer process for the kill -9 test: opens a transaction, writes records and waits until
 * they are acknowledged, says so on stdout, then hangs with the transaction open until killed.
 * Arguments: bootstrap (comma-separated), topic, transactional id, transaction timeout in ms.
 */
import { Producer } from '../../../src/client/index.js'

const [bootstrap, topic, transactionalId, timeoutMs] = process.argv.slice(2)
if (bootstrap === undefined || topic === undefined || transactionalId === undefined || timeoutMs === undefined) {
  process.stderr.write('usage: transactional-child.ts <bootstrap> <topic> <transactionalId> <transactionTimeoutMs>\n')
  process.exit(2)
}
const producer = new Producer({ bootstrapServers: bootstrap, transactionalId, transactionTimeoutMs: Number(timeoutMs) })
await producer.initTransactions()
producer.beginTransaction()
await producer.sendBatch(Array.from({ length: 20 }, (_, i) => ({ topic, partition: 0, value: `doomed-${i}` })))
process.stdout.write('sent\n')
// Keep the process (and its open transaction) alive until the test kills it.
setInterval(() => undefined, 60_000)
