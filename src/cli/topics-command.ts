/** `baton topics list|describe|create|delete|add-partitions`. */
import { InvalidArgumentError, type Command } from 'commander'
import { KafkaError, KafkaErrorCode } from '../client/index.js'
import { withAdmin } from './admin-session.js'
import { addConnectionOptions, type ConnectionFlags } from './client-options.js'
import { CliError, EXIT, EXIT_CODES_HELP, usageExit, printJson, runCommand, table } from './output.js'
import { integerOption } from './parse.js'

const configPair = (value: string, previous: Record<string, string> = {}): Record<string, string> => {
  const eq = value.indexOf('=')
  if (eq <= 0) throw new InvalidArgumentError('expected name=value, e.g. --config-entry retention.ms=86400000')
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) }
}

export function registerTopicsCommand(program: Command): void {
  const topics = program.command('topics').exitOverride(usageExit).showHelpAfterError('(add --help for usage and examples)').description('list, describe, create and delete topics, add partitions').addHelpText(
    'after',
    `
Examples:
  baton topics list --brokers 127.0.0.1:9092
  baton topics describe orders
  baton topics create orders --partitions 6 --replication-factor 1 --config-entry retention.ms=86400000
  baton topics add-partitions orders --total 12
  baton topics delete orders
${EXIT_CODES_HELP}`,
  )

  addConnectionOptions(topics.command('list').description('topic names with their partition counts')).action(async (flags: ConnectionFlags) => {
    await runCommand(flags.json, 'topics list', () =>
      withAdmin(flags, async (admin) => {
        const names = (await admin.listTopics()).sort()
        if (names.length > 0) await admin.cluster.refresh(names)
        const rows = names.map((name) => ({ name, partitions: admin.cluster.partitionCount(name) }))
        if (flags.json === true) printJson(rows)
        else console.log(table(['TOPIC', 'PARTITIONS'], rows.map((r) => [r.name, r.partitions])))
      }),
    )
  })

  addConnectionOptions(topics.command('describe').argument('<topic...>').description('partitions, leaders, replicas, offsets and configs of topics')).action(
    async (names: string[], flags: ConnectionFlags) => {
      await runCommand(flags.json, 'topics describe', () =>
        withAdmin(flags, async (admin) => {
          const response = await admin.cluster.fetchMetadata(names)
          const out = []
          for (const name of names) {
            const t = response.topics.find((x) => x.name === name)
            if (t === undefined || t.errorCode === KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
              throw new CliError(EXIT.NOT_FOUND, `topic ${name} does not exist; see \`baton topics list\` or create it with \`baton topics create ${name}\``)
            }
            if (t.errorCode !== 0) throw new KafkaError(t.errorCode, { api: 'Metadata', topic: name })
            const [earliest, latest, configs] = await Promise.all([
              admin.listOffsets(name, 'earliest'),
              admin.listOffsets(name, 'latest'),
              admin.describeConfigs([{ type: 'topic', name }]),
            ])
            const partitions = [...t.partitions]
              .sort((a, b) => a.partitionIndex - b.partitionIndex)
              .map((p) => ({
                partition: p.partitionIndex,
                leader: p.leaderId,
                replicas: p.replicaNodes,
                isr: p.isrNodes,
                earliestOffset: earliest.find((o) => o.partition === p.partitionIndex)?.offset ?? null,
                latestOffset: latest.find((o) => o.partition === p.partitionIndex)?.offset ?? null,
              }))
            const set = Object.fromEntries(
              Object.entries(configs[0]?.configs ?? {})
                .filter(([, c]) => c.source === 1)
                .map(([k, c]) => [k, c.isSensitive ? '(sensitive)' : c.value]),
            )
            out.push({ topic: name, topicId: t.topicId, partitions, configs: set })
          }
          if (flags.json === true) {
            printJson(out)
            return
          }
          for (const t of out) {
            console.log(`Topic: ${t.topic}  id: ${t.topicId}  partitions: ${t.partitions.length}`)
            const configText = Object.entries(t.configs).map(([k, v]) => `${k}=${v}`).join(', ')
            console.log(`Configs: ${configText === '' ? '(broker defaults)' : configText}`)
            console.log(
              table(
                ['PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'EARLIEST', 'LATEST'],
                t.partitions.map((p) => [p.partition, p.leader, p.replicas.join(','), p.isr.join(','), p.earliestOffset, p.latestOffset]),
              ),
            )
            console.log('')
          }
        }),
      )
    },
  )

  addConnectionOptions(
    topics
      .command('create')
      .argument('<topic>')
      .description('create a topic')
      .option('-p, --partitions <n>', "partitions (default: the broker's num.partitions)", integerOption('--partitions', 1, 100_000))
      .option('-r, --replication-factor <n>', "replicas per partition (default: the broker's)", integerOption('--replication-factor', 1, 100))
      .option('--config-entry <name=value>', 'a topic config; repeat for several', configPair),
  ).action(async (name: string, flags: ConnectionFlags & { partitions?: number; replicationFactor?: number; configEntry?: Record<string, string> }) => {
    await runCommand(flags.json, 'topics create', () =>
      withAdmin(flags, async (admin) => {
        await admin.createTopics([
          {
            name,
            ...(flags.partitions === undefined ? {} : { partitions: flags.partitions }),
            ...(flags.replicationFactor === undefined ? {} : { replicationFactor: flags.replicationFactor }),
            ...(flags.configEntry === undefined ? {} : { configs: flags.configEntry }),
          },
        ])
        await admin.cluster.refresh([name])
        const partitions = admin.cluster.partitionCount(name)
        if (flags.json === true) printJson({ created: name, partitions })
        else console.log(`created topic ${name} with ${partitions} partition(s)`)
      }),
    )
  })

  addConnectionOptions(topics.command('delete').argument('<topic...>').description('delete topics and their records')).action(async (names: string[], flags: ConnectionFlags) => {
    await runCommand(flags.json, 'topics delete', () =>
      withAdmin(flags, async (admin) => {
        await admin.deleteTopics(names)
        if (flags.json === true) printJson({ deleted: names })
        else console.log(`deleted ${names.join(', ')}`)
      }),
    )
  })

  addConnectionOptions(
    topics
      .command('add-partitions')
      .argument('<topic>')
      .description("raise a topic's partition count (Kafka cannot lower it; keyed records may move partition)")
      .requiredOption('--total <n>', 'the new partition count', integerOption('--total', 1, 100_000)),
  ).action(async (name: string, flags: ConnectionFlags & { total: number }) => {
    await runCommand(flags.json, 'topics add-partitions', () =>
      withAdmin(flags, async (admin) => {
        await admin.createPartitions(name, flags.total)
        if (flags.json === true) printJson({ topic: name, partitions: flags.total })
        else console.log(`topic ${name} now has ${flags.total} partitions`)
      }),
    )
  })
}
