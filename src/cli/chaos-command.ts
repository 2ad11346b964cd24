import { InvalidArgumentError, Option, type Command } from 'commander'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CHAOS_DEFAULTS, DELIVERY_MODES, resolveChaosConfig, runChaos, summaryLines, writeChaosReport, type ChaosMode, type DeliveryMode } from '../lab/index.js'
import { integerOption } from './parse.js'
import { exitWithStartupError } from './startup-error.js'

interface ChaosFlags {
  changes: number
  seed?: number
  mode: ChaosMode | 'both'
  delivery: DeliveryMode
  store?: string
  partitions: number
  rate: number
  gapMin: number
  gapMax: number
  maxMembers: number
  session: number
  heartbeat: number
  brokerRestarts: number
  brokers?: string[]
  out?: string
  zombies?: boolean
  groupProtocol: 'classic' | 'consumer'
}

const brokerList = (value: string): string[] => {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (items.length === 0) throw new InvalidArgumentError('--brokers needs at least one host:port')
  return items
}

/**
 * `baton chaos`: consumer processes running the framework are started, SIGTERMed and SIGKILLed on
 * a seeded schedule, with broker restarts in between (embedded broker only); every record is
 * accounted for, and the report says what explains each duplicate. Exit code 1 when a record was
 * lost or a duplicate has no SIGKILL or session loss behind it; in the exactly-once deliveries
 * (`--delivery transactional`, `--delivery store --store postgres://...`), when any outcome is duplicated.
 */
export function registerChaosCommand(program: Command): void {
  program
    .command('chaos')
    .description('start, SIGTERM and SIGKILL consumer processes on a seeded schedule and account for every record')
    .option('--changes <n>', 'membership changes (start, SIGTERM, SIGKILL)', integerOption('--changes', 1, 1_000_000), CHAOS_DEFAULTS.changes)
    .option('--seed <n>', 'seed of the schedule and handler times (random when absent; printed for a replay)', integerOption('--seed', 0, 0xffffffff))
    .addOption(new Option('--mode <mode>', 'partition: in order per partition; key: per key; both: one run of each').choices(['partition', 'key', 'both']).default('both'))
    .addOption(
      new Option('--delivery <mode>', "the members' delivery: at-least-once (duplicates allowed where a crash explains them), or transactional / store (exactly once: any duplicated outcome fails)")
        .choices([...DELIVERY_MODES])
        .default(CHAOS_DEFAULTS.delivery),
    )
    .option('--store <postgres url>', 'store delivery: the PostgreSQL server the members share (the run makes and, when it passes, drops its own tables)')
    .option('--partitions <n>', 'partitions of the chaos topic', integerOption('--partitions', 1, 1000), CHAOS_DEFAULTS.partitions)
    .option('--rate <n>', 'records written per second during the changes', integerOption('--rate', 1, 100_000), CHAOS_DEFAULTS.recordsPerSecond)
    .option('--gap-min <ms>', 'shortest time between two changes', integerOption('--gap-min', 0, 600_000), CHAOS_DEFAULTS.gapMinMs)
    .option('--gap-max <ms>', 'longest time between two changes', integerOption('--gap-max', 0, 600_000), CHAOS_DEFAULTS.gapMaxMs)
    .option('--max-members <n>', 'most consumer processes at once', integerOption('--max-members', 2, 64), CHAOS_DEFAULTS.maxMembers)
    .option('--session <ms>', "the members' session timeout", integerOption('--session', 100, 600_000), CHAOS_DEFAULTS.sessionTimeoutMs)
    .option('--heartbeat <ms>', "the members' heartbeat interval", integerOption('--heartbeat', 10, 600_000), CHAOS_DEFAULTS.heartbeatIntervalMs)
    .option('--broker-restarts <n>', 'broker SIGKILLs and restarts, spread over the run (embedded broker only)', integerOption('--broker-restarts', 0, 10_000), CHAOS_DEFAULTS.brokerRestarts)
    .option('--zombies', 'also freeze members (SIGSTOP) past their session timeout and wake them (SIGCONT) with their work under way')
    .addOption(new Option('--group-protocol <protocol>', "the members' group protocol: classic, or consumer (KIP-848: the embedded broker gets --session and --heartbeat; a --brokers cluster uses its own)").choices(['classic', 'consumer']).default(CHAOS_DEFAULTS.groupProtocol))
    .option('--brokers <host:port,...>', 'run against this Kafka cluster instead of an embedded broker process', brokerList)
    .option('--out <dir>', 'where the event files and report.txt / report.json go (default: a new folder under the temp dir)')
    .action(async (flags: ChaosFlags) => {
      const seed = flags.seed ?? Math.floor(Math.random() * 0xffffffff)
      const out = flags.out ?? join(tmpdir(), `baton-chaos-${seed}`)
      // Store delivery runs a partition's records one at a time: key mode is not among its runs.
      const modes: ChaosMode[] = flags.mode === 'both' ? (flags.delivery === 'store' ? ['partition'] : ['partition', 'key']) : [flags.mode]
      let failed = false
      for (const mode of modes) {
        const config = (() => {
          try {
            return resolveChaosConfig({
              outDir: join(out, mode),
              changes: flags.changes,
              seed,
              mode,
              delivery: flags.delivery,
              store: flags.store,
              partitions: flags.partitions,
              recordsPerSecond: flags.rate,
              gapMinMs: flags.gapMin,
              gapMaxMs: flags.gapMax,
              maxMembers: flags.maxMembers,
              sessionTimeoutMs: flags.session,
              heartbeatIntervalMs: flags.heartbeat,
              brokerRestarts: flags.brokerRestarts,
              brokers: flags.brokers,
              zombies: flags.zombies === true,
              groupProtocol: flags.groupProtocol,
            })
          } catch (error) {
            return exitWithStartupError('baton chaos', error)
          }
        })()
        // A run that cannot go on (a broker that does not come back, a group that never forms) ends
        // in one line naming the run's folder, not a stack trace; its members are already stopped.
        const result = await runChaos(config, (line) => console.log(line)).catch((error: unknown) => exitWithStartupError('baton chaos', error))
        const report = writeChaosReport(result)
        console.log(summaryLines(result).map((l) => `  ${l}`).join('\n'))
        console.log(`  report: ${report}`)
        failed ||= result.failures.length > 0
      }
      process.exitCode = failed ? 1 : 0
    })
}
