/** `baton groups list|describe|delete|reset-offsets`. */
import { InvalidArgumentError, Option, type Command } from 'commander'
import { describeGroupLag, type ConsumerGroupView } from '../client/index.js'
import { withAdmin } from './admin-session.js'
import { addConnectionOptions, type ConnectionFlags } from './client-options.js'
import { CliError, EXIT, EXIT_CODES_HELP, usageExit, printJson, runCommand, table } from './output.js'
import { parseDateTime, parseTopicSelector, planReset, type ResetSpec } from './reset-plan.js'

const bigintOption = (flag: string) => (value: string): bigint => {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${flag} must be an integer, got "${value}"`)
  return BigInt(value)
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

/** States in which a group has no members, so its offsets may be changed from outside. */
const INACTIVE = new Set(['Empty', 'Dead'])

export function printGroup(view: ConsumerGroupView): void {
  console.log(`Group: ${view.groupId}  state: ${view.state}  protocol: ${view.protocol}${view.assignor === '' ? '' : `  assignor: ${view.assignor}`}${view.groupEpoch === null ? '' : `  epoch: ${view.groupEpoch}`}  members: ${view.members.length}  lag: ${view.totalLag}`)
  console.log('')
  if (view.members.length > 0) {
    console.log(
      table(
        ['MEMBER-ID', 'CLIENT-ID', 'HOST', 'ASSIGNMENT'],
        view.members.map((m) => [m.memberId, m.clientId, m.clientHost, m.assignment.map((tp) => `${tp.topic}-${tp.partition}`).join(', ') || '(none)']),
      ),
    )
    console.log('')
  }
  if (view.partitions.length > 0) {
    console.log(
      table(
        ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
        view.partitions.map((p) => [view.groupId, p.topic, p.partition, p.committedOffset, p.endOffset, p.lag, p.memberId, p.clientHost, p.clientId]),
      ),
    )
  } else {
    console.log(`Group ${view.groupId} has no committed offsets and no assigned partitions.`)
  }
}

export function registerGroupsCommand(program: Command): void {
  const groups = program.command('groups').exitOverride(usageExit).showHelpAfterError('(add --help for usage and examples)').description('consumer groups: list, describe with lag, delete, reset offsets').addHelpText(
    'after',
    `
Examples:
  baton groups list
  baton groups describe orders-app                # members, assignment, committed/end offsets, lag
  baton groups describe orders-app --json | jq .totalLag
  baton groups reset-offsets orders-app --topic orders --to-earliest            # dry run
  baton groups reset-offsets orders-app --topic orders:0,1 --shift-by -100 --execute
  baton groups delete orders-app
${EXIT_CODES_HELP}`,
  )

  addConnectionOptions(groups.command('list').description('groups on every broker with their state and protocol')).action(async (flags: ConnectionFlags) => {
    await runCommand(flags.json, 'groups list', () =>
      withAdmin(flags, async (admin) => {
        const list = (await admin.listGroups()).sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0))
        if (flags.json === true) printJson(list)
        else console.log(table(['GROUP', 'STATE', 'TYPE', 'PROTOCOL-TYPE'], list.map((g) => [g.groupId, g.state, g.type || 'classic', g.protocolType])))
      }),
    )
  })

  addConnectionOptions(
    groups.command('describe').argument('<group>').description("a group's state, protocol, members and their assignment, and per partition the committed offset, end offset and lag"),
  ).action(async (groupId: string, flags: ConnectionFlags) => {
    await runCommand(flags.json, 'groups describe', () =>
      withAdmin(flags, async (admin) => {
        const view = await describeGroupLag(admin, groupId)
        if (view.state === 'Dead' && view.partitions.length === 0) {
          throw new CliError(EXIT.NOT_FOUND, `group ${groupId} does not exist; see \`baton groups list\``)
        }
        if (flags.json === true) printJson(view)
        else printGroup(view)
      }),
    )
  })

  addConnectionOptions(groups.command('delete').argument('<group...>').description('delete groups that have no members, with their committed offsets')).action(
    async (ids: string[], flags: ConnectionFlags) => {
      await runCommand(flags.json, 'groups delete', () =>
        withAdmin(flags, async (admin) => {
          await admin.deleteGroups(ids)
          if (flags.json === true) printJson({ deleted: ids })
          else console.log(`deleted group(s) ${ids.join(', ')}`)
        }),
      )
    },
  )

  addConnectionOptions(
    groups
      .command('reset-offsets')
      .argument('<group>')
      .description("move a group's committed offsets; a dry run unless --execute, refused while the group has members")
      .option('--topic <topic[:p,p]>', 'a topic, or some of its partitions; repeat for several', collect)
      .option('--all-topics', 'every topic the group has committed offsets for')
      .addOption(new Option('--to-earliest', 'to the earliest offset').conflicts(['toLatest', 'toDatetime', 'toOffset', 'shiftBy']))
      .addOption(new Option('--to-latest', 'to the end').conflicts(['toDatetime', 'toOffset', 'shiftBy']))
      .addOption(new Option('--to-datetime <iso>', 'to the first record at or after this time (e.g. 2026-12-07T10:00:00Z)').conflicts(['toOffset', 'shiftBy']))
      .addOption(new Option('--to-offset <n>', 'to this offset').argParser(bigintOption('--to-offset')).conflicts(['shiftBy']))
      .addOption(new Option('--shift-by <n>', 'by this many from the committed offset (negative: back)').argParser(bigintOption('--shift-by')))
      .option('--execute', 'commit the new offsets (without it, only print them)'),
  ).action(
    async (
      groupId: string,
      flags: ConnectionFlags & { topic?: string[]; allTopics?: boolean; toEarliest?: boolean; toLatest?: boolean; toDatetime?: string; toOffset?: bigint; shiftBy?: bigint; execute?: boolean },
    ) => {
      await runCommand(flags.json, 'groups reset-offsets', async () => {
        const spec: ResetSpec | undefined =
          flags.toEarliest === true
            ? { to: 'earliest' }
            : flags.toLatest === true
              ? { to: 'latest' }
              : flags.toDatetime !== undefined
                ? { to: 'datetime', timestamp: parseDateTime(flags.toDatetime) }
                : flags.toOffset !== undefined
                  ? { to: 'offset', offset: flags.toOffset }
                  : flags.shiftBy !== undefined
                    ? { to: 'shift', by: flags.shiftBy }
                    : undefined
        if (spec === undefined) throw new CliError(EXIT.USAGE, 'say where to: --to-earliest, --to-latest, --to-datetime, --to-offset or --shift-by')
        if ((flags.topic === undefined) === (flags.allTopics !== true)) throw new CliError(EXIT.USAGE, 'say which partitions: --topic NAME[:p,p] (repeatable) or --all-topics')
        await withAdmin(flags, async (admin) => {
          const [group] = await admin.describeGroups([groupId])
          if (group !== undefined && !INACTIVE.has(group.state)) {
            throw new CliError(
              EXIT.REFUSED,
              `group ${groupId} is ${group.state} with ${group.members.length} member(s); offsets can only be reset while it has none: stop its consumers first (see \`baton groups describe ${groupId}\`)`,
            )
          }
          const selectors =
            flags.allTopics === true ? [...new Set((await admin.fetchOffsets(groupId)).map((c) => c.topic))].map((topic) => ({ topic, partitions: null })) : flags.topic!.map(parseTopicSelector)
          if (selectors.length === 0) throw new CliError(EXIT.NOT_FOUND, `group ${groupId} has no committed offsets; name the topics with --topic`)
          const plan = await planReset(admin, groupId, selectors, spec)
          if (flags.execute === true) await admin.alterGroupOffsets(groupId, plan.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.newOffset })))
          if (flags.json === true) {
            printJson({ group: groupId, executed: flags.execute === true, partitions: plan })
            return
          }
          console.log(table(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'], plan.map((r) => [groupId, r.topic, r.partition, r.currentOffset, r.newOffset])))
          console.log(flags.execute === true ? '\nOffsets committed.' : '\nDry run: nothing changed. Add --execute to commit these offsets.')
        })
      })
    },
  )
}
