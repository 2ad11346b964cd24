/**
 * `baton consume <topic>`: reads records of assigned partitions (all, or --partition) or as a
 * member of a group (--group, committing as it goes), from the beginning, the end, an offset or a
 * time; prints each with a format string or as JSON lines; with --exit stops once it has read up
 * to the end offsets the partitions had when it started.
 */
import { InvalidArgumentError, type Command } from 'commander'
import { Consumer, GroupConsumer, partitionKey, type Admin, type ConsumerRecord, type PartitionAssignment, type TopicPartition } from '../client/index.js'
import { withAdmin } from './admin-session.js'
import { addConnectionOptions, clientConfigOf, type ConnectionFlags } from './client-options.js'
import { CliError, EXIT, EXIT_CODES_HELP, usageExit, runCommand, toJson } from './output.js'
import { integerOption } from './parse.js'
import { parseDateTime } from './reset-plan.js'
import { FORMAT_HELP, formatRecord, recordJson } from './record-format.js'

interface ConsumeFlags extends ConnectionFlags {
  partition?: number[]
  group?: string
  fromBeginning?: boolean
  offset?: bigint
  fromTime?: string
  exit?: boolean
  count?: number
  format: string
}

const collectPartition = (value: string, previous: number[] = []): number[] => [...previous, integerOption('--partition', 0, 1_000_000)(value)]
const offsetOption = (value: string): bigint => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`--offset must be an offset (an integer >= 0), got "${value}"`)
  return BigInt(value)
}

export function registerConsumeCommand(program: Command): void {
  addConnectionOptions(
    program
      .command('consume')
      .exitOverride(usageExit).showHelpAfterError('(add --help for usage and examples)')
      .argument('<topic>')
      .description('print records of a topic: assigned partitions or as a group member, from the beginning, the end, an offset or a time')
      .option('-p, --partition <n>', 'read this partition (repeat for several); default all', collectPartition)
      .option('-g, --group <id>', 'read as a member of this consumer group, committing offsets (partitions come from the group)')
      .option('--from-beginning', 'start at the earliest offset (a group: where it has no committed offset)')
      .option('--offset <n>', 'start at this offset in every partition read', offsetOption)
      .option('--from-time <iso|ms>', 'start at the first record at or after this time')
      .option('-e, --exit', 'exit once every partition is read up to the end it had at the start')
      .option('-n, --count <n>', 'exit after this many records', integerOption('--count', 1, Number.MAX_SAFE_INTEGER))
      .option('-f, --format <format>', `output format: ${FORMAT_HELP}`, '%v\\n'),
  )
    .addHelpText(
      'after',
      `
Examples:
  baton consume orders --from-beginning --exit
  baton consume orders -p 0 --offset 1200 -n 10 -f '%p:%o %k=%v\\n'
  baton consume orders --from-time 2026-12-07T10:00:00Z --json
  baton consume orders --group audit --from-beginning
Starts at the end unless told otherwise (a group resumes from its committed offsets).
${EXIT_CODES_HELP}`,
    )
    .action(async (topic: string, flags: ConsumeFlags) => {
      await runCommand(flags.json, 'consume', () => consume(topic, flags))
    })
}

async function consume(topic: string, flags: ConsumeFlags): Promise<void> {
  const starts = [flags.fromBeginning === true, flags.offset !== undefined, flags.fromTime !== undefined].filter(Boolean).length
  if (starts > 1) throw new CliError(EXIT.USAGE, 'give one start: --from-beginning, --offset or --from-time')
  if (flags.group !== undefined && (flags.partition !== undefined || flags.offset !== undefined || flags.fromTime !== undefined)) {
    throw new CliError(EXIT.USAGE, 'a group chooses its partitions and resumes from its committed offsets: drop --partition/--offset/--from-time, or reset the group with `baton groups reset-offsets`')
  }
  const config = clientConfigOf(flags)
  const { partitions, ends } = await withAdmin(flags, (admin) => plan(admin, topic, flags))
  const print = (record: ConsumerRecord): void => {
    process.stdout.write(flags.json === true ? `${toJson(recordJson(record))}\n` : formatRecord(flags.format, record))
  }
  let seen = 0
  const consumer =
    flags.group === undefined
      ? new Consumer({ ...config, autoOffsetReset: flags.fromBeginning === true ? 'earliest' : 'latest' })
      : new GroupConsumer({ ...config, groupId: flags.group, autoOffsetReset: flags.fromBeginning === true ? 'earliest' : 'latest' })
  // Where each partition stands: the next offset to print, once known.
  const positions = new Map<string, bigint>()
  const startAt = new Map(partitions.map((p) => [partitionKey(p), p.offset]))
  const positionOf = (tp: TopicPartition): bigint | 'latest' | undefined => {
    const known = positions.get(partitionKey(tp))
    if (known !== undefined) return known
    if (consumer instanceof GroupConsumer) {
      const resumed = consumer.resumedFrom(tp)
      return resumed?.offset ?? (flags.fromBeginning === true ? undefined : 'latest')
    }
    const start = startAt.get(partitionKey(tp))
    return start === 'earliest' ? undefined : start
  }
  const caughtUp = (): boolean => {
    const owned = consumer.assignment()
    return (
      owned.length > 0 &&
      owned.every((tp) => {
        const end = ends.get(partitionKey(tp)) ?? 0n
        const at = positionOf(tp)
        return end === 0n || at === 'latest' || (at !== undefined && at >= end)
      })
    )
  }
  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    void consumer.close()
  }
  const onSignal = (): void => stop()
  // A reader that went away (`| head`) ends the consume quietly, as it would for kcat. The listener
  // stays: the failed write's error event may come after the consumer has closed.
  const onStdoutError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE') stop()
  }
  process.stdout.on('error', onStdoutError)
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  // A partition already at its end never delivers a record, so --exit is checked on a timer too.
  const ticker = setInterval(() => {
    if (flags.exit === true && caughtUp()) stop()
  }, 200)
  let lastCommit = Date.now()
  try {
    if (consumer instanceof GroupConsumer) {
      consumer.subscribe([topic])
    } else {
      await consumer.assign(partitions)
    }
    for await (const record of consumer) {
      if (stopping) break
      print(record)
      seen++
      positions.set(partitionKey(record), record.offset + 1n)
      if (consumer instanceof GroupConsumer && Date.now() - lastCommit > 1000) {
        lastCommit = Date.now()
        await consumer.commit().catch(() => undefined)
      }
      if (flags.count !== undefined && seen >= flags.count) break
      if (flags.exit === true && caughtUp()) break
    }
    if (consumer instanceof GroupConsumer && !stopping) await consumer.commit().catch(() => undefined)
  } finally {
    clearInterval(ticker)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    stopping = true
    await consumer.close()
  }
  if (flags.json !== true) process.stderr.write(`consumed ${seen} record(s)\n`)
}

/** The partitions to assign with their start offsets, and each partition's end at the start. */
async function plan(admin: Admin, topic: string, flags: ConsumeFlags): Promise<{ partitions: PartitionAssignment[]; ends: Map<string, bigint> }> {
  const response = await admin.cluster.fetchMetadata([topic])
  const t = response.topics.find((x) => x.name === topic)
  if (t === undefined || t.errorCode !== 0 || t.partitions.length === 0) {
    throw new CliError(EXIT.NOT_FOUND, `topic ${topic} does not exist; see \`baton topics list\``)
  }
  const all = t.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b)
  for (const p of flags.partition ?? []) if (!all.includes(p)) throw new CliError(EXIT.NOT_FOUND, `topic ${topic} has no partition ${p}; it has ${all.length}`)
  const chosen = flags.partition ?? all
  const latest = await admin.listOffsets(topic, 'latest')
  const ends = new Map(latest.map((o) => [partitionKey({ topic, partition: o.partition }), o.offset]))
  let atTime = new Map<number, bigint>()
  if (flags.fromTime !== undefined) {
    const found = await admin.listOffsets(topic, { timestamp: parseDateTime(flags.fromTime) })
    atTime = new Map(found.map((o) => [o.partition, o.offset]))
  }
  const partitions = chosen.map((partition): PartitionAssignment => {
    if (flags.offset !== undefined) return { topic, partition, offset: flags.offset }
    if (flags.fromTime !== undefined) {
      const o = atTime.get(partition) ?? -1n
      return { topic, partition, offset: o < 0n ? 'latest' : o }
    }
    return { topic, partition, offset: flags.fromBeginning === true ? 'earliest' : 'latest' }
  })
  return { partitions, ends }
}
