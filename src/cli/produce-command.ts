/**
 * `baton produce <topic>`: one record per line of standard input, optionally split into key and
 * value at a separator, with headers, a compression codec and an acks level. Exits once every
 * record is acknowledged (or failed: exit 1 with the first error).
 */
import { createInterface } from 'node:readline'
import { InvalidArgumentError, Option, type Command } from 'commander'
import { Producer, type ProducerRecord } from '../client/index.js'
import { addConnectionOptions, clientConfigOf, type ConnectionFlags } from './client-options.js'
import { EXIT_CODES_HELP, usageExit, printJson, runCommand } from './output.js'
import { integerOption } from './parse.js'

interface ProduceFlags extends ConnectionFlags {
  keySeparator?: string
  header?: Record<string, string>
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'
  acks: '0' | '1' | 'all' | '-1'
  partition?: number
}

const headerPair = (value: string, previous: Record<string, string> = {}): Record<string, string> => {
  const eq = value.indexOf('=')
  if (eq <= 0) throw new InvalidArgumentError('expected name=value, e.g. -H source=cli')
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) }
}

/** Records sent but not yet acknowledged before reading more input, so a large file needs bounded memory. */
const WINDOW = 10_000

export function registerProduceCommand(program: Command): void {
  addConnectionOptions(
    program
      .command('produce')
      .exitOverride(usageExit).showHelpAfterError('(add --help for usage and examples)')
      .argument('<topic>')
      .description('produce one record per line of standard input')
      .option('-K, --key-separator <sep>', 'split each line at the first <sep> into key and value')
      .option('-H, --header <name=value>', 'a header on every record; repeat for several', headerPair)
      .addOption(new Option('-z, --compression <codec>', 'compression codec').choices(['none', 'gzip', 'snappy', 'lz4', 'zstd']).default('none'))
      .addOption(new Option('--acks <acks>', 'acknowledgement: 0, 1, or all (-1)').choices(['0', '1', 'all', '-1']).default('all'))
      .option('-p, --partition <n>', 'send every record to this partition (default: by key, or spread)', integerOption('--partition', 0, 1_000_000)),
  )
    .addHelpText(
      'after',
      `
Examples:
  seq 1 100 | baton produce orders
  printf 'user-1:login\\nuser-2:logout\\n' | baton produce events -K : -H source=cli -z zstd --acks 1
${EXIT_CODES_HELP}`,
    )
    .action(async (topic: string, flags: ProduceFlags) => {
      await runCommand(flags.json, 'produce', () => produce(topic, flags))
    })
}

async function produce(topic: string, flags: ProduceFlags): Promise<void> {
  const acks = flags.acks === 'all' ? -1 : (Number(flags.acks) as -1 | 0 | 1)
  const producer = new Producer({ ...clientConfigOf(flags), compression: flags.compression, acks, ...(acks === -1 ? {} : { idempotent: false }) })
  const pending = new Set<Promise<unknown>>()
  let sent = 0
  let failure: unknown
  const perPartition = new Map<number, number>()
  try {
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      if (failure !== undefined) break
      const sep = flags.keySeparator === undefined ? -1 : line.indexOf(flags.keySeparator)
      const record: ProducerRecord = {
        topic,
        key: sep < 0 ? null : line.slice(0, sep),
        value: sep < 0 ? line : line.slice(sep + flags.keySeparator!.length),
        ...(flags.header === undefined ? {} : { headers: flags.header }),
        ...(flags.partition === undefined ? {} : { partition: flags.partition }),
      }
      const p: Promise<unknown> = producer.send(record).then(
        (meta) => {
          perPartition.set(meta.partition, (perPartition.get(meta.partition) ?? 0) + 1)
        },
        (error: unknown) => {
          failure ??= error
        },
      )
      pending.add(p)
      void p.finally(() => pending.delete(p))
      sent++
      if (pending.size >= WINDOW) await Promise.race(pending)
    }
    await Promise.all(pending)
    await producer.flush()
  } finally {
    await producer.close()
  }
  if (failure instanceof Error) throw failure
  if (failure !== undefined) throw new Error(`a record was refused: ${JSON.stringify(failure)}`)
  const partitions = Object.fromEntries([...perPartition].sort((a, b) => a[0] - b[0]))
  if (flags.json === true) printJson({ topic, produced: sent, partitions })
  else process.stderr.write(`produced ${sent} record(s) to ${topic}\n`)
}
