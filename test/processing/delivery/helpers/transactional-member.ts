/**
 * A member of a transactional consumer group, run as a child process by the crash and zombie tests.
 *
 * argv: bootstrap (comma-separated), group, input topic, output topic, member name, then what to
 * do at its `stopAt`-th transaction that carries outputs, once those outputs are acknowledged
 * (written, still invisible to read_committed readers):
 * - `run`: nothing, run until SIGTERM;
 * - `block:<n>`: print `in-transaction <input ranges it covers, JSON>` and block the event loop (the parent SIGKILLs it);
 * - `stall:<n>`: print the same, then block for 2 s, during which the parent stops the
 *   process (SIGSTOP) and later continues it; the member then tries to commit.
 * A last, optional argument `key` runs the route with `ordering: 'key'`. The environment may set
 * the transactional id (BATON_TEST_TRANSACTIONAL_ID) and timeout (BATON_TEST_TRANSACTION_TIMEOUT_MS).
 * Each output's value is `<input partition>:<input offset>@<member>#<transactions committed when it was handled>`.
 * Assignments of partitions are printed (`assigned <count>`), and every transaction's end: `committed <n>` or `aborted <n> <error code>`.
 */
import diagnostics from 'node:diagnostics_channel'
import { writeSync } from 'node:fs'
import { baton } from '../../../../src/processing/app.js'
import { CHANNELS, type AssignedEvent, type TransactionEvent } from '../../../../src/processing/instrumentation.js'
import { silentLogger } from '../../../../src/processing/logger.js'

const [bootstrap, group, input, output, member, action, ordering = 'partition'] = process.argv.slice(2) as [string, string, string, string, string, string, string?]
const [what, count] = action.split(':') as [string, string | undefined]
const stopAt = count === undefined ? 0 : Number(count)

let withOutputs = 0
let committed = 0
/** Where this member's last committed transaction left each input partition. */
const committedOffsets = new Map<number, bigint>()
const say = (line: string): void => void writeSync(1, `${line}\n`)

diagnostics.subscribe(CHANNELS.transaction, (message) => {
  const event = message as TransactionEvent
  if (event.phase === 'committed') for (const o of event.offsets) committedOffsets.set(o.partition, o.offset)
  if (event.outputs === 0) {
    if (event.phase === 'committed') committed++
    return
  }
  if (event.phase === 'written') {
    withOutputs++
    if (withOutputs !== stopAt) return
    // The inputs this transaction covers, from where this member's last commit left each partition.
    const ranges = event.offsets.map((o) => ({ partition: o.partition, from: String(committedOffsets.get(o.partition) ?? 0n), to: String(o.offset) }))
    say(`in-transaction ${JSON.stringify(ranges)}`)
    // A synchronous block: no heartbeat, no request, as a process frozen mid-transaction.
    const cell = new Int32Array(new SharedArrayBuffer(4))
    Atomics.wait(cell, 0, 0, what === 'block' ? 120_000 : 2_000)
    return
  }
  if (event.phase === 'committed') {
    committed++
    say(`committed ${withOutputs} ${event.records}`)
  } else {
    const code = (event.error as { code?: unknown } | undefined)?.code
    say(`aborted ${withOutputs} ${typeof code === 'string' ? code : 'unknown'}`)
  }
})

diagnostics.subscribe(CHANNELS.assigned, (message) => {
  const event = message as AssignedEvent
  if (event.partitions.length > 0) say(`assigned ${event.partitions.length}`)
})

const app = baton({
  brokers: bootstrap.split(','),
  groupId: group,
  logger: silentLogger,
  rebalanceTimeoutMs: 6_000,
  drainTimeoutMs: 2_000,
  kafka: { clientId: member, sessionTimeoutMs: 3_000, heartbeatIntervalMs: 300, fetchMaxWaitMs: 100, isolationLevel: 'read_committed' },
  transactions: {
    maxRecords: 20,
    maxMs: 50,
    transactionTimeoutMs: Number(process.env.BATON_TEST_TRANSACTION_TIMEOUT_MS ?? 4_000),
    ...(process.env.BATON_TEST_TRANSACTIONAL_ID === undefined ? {} : { transactionalId: process.env.BATON_TEST_TRANSACTIONAL_ID }),
  },
})
app.consume(input, async (record, ctx) => {
  await ctx.produce({ topic: output, key: record.key, value: `${record.partition}:${record.offset}@${member}#${committed}` })
}, { delivery: 'transactional', deadLetter: false, ordering: ordering === 'key' ? 'key' : 'partition' })
say('starting')
const result = await app.run()
say(`stopped ${result.exitCode}`)
