import { InvalidArgumentError, type Command } from 'commander'
import { LAB_DEFAULTS, LabConfigError, parseScript, renderTable, runLab, STRATEGIES, STRATEGY_NAMES, LEGEND, TerminalProgress, verdict } from '../lab/index.js'
import { integerOption } from './parse.js'

interface LabFlags {
  records: number
  partitions: number
  handlerMs: number
  consumers: number
  script: string
  seed: number
  brokers?: string[]
  store?: string
  oneAtATime?: boolean
  strategies: string[]
  out: string
}

const list = (flag: string) => (value: string): string[] => {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (items.length === 0) throw new InvalidArgumentError(`${flag} needs at least one value`)
  return items
}

const script = (value: string): string => {
  try {
    parseScript(value)
  } catch (error) {
    if (error instanceof LabConfigError) throw new InvalidArgumentError(error.message)
    throw error
  }
  return value
}


/**
 * `baton lab` (what `npm start` runs): the duplicate-on-rebalance scenario on the embedded broker,
 * every strategy side by side (or one after another), verified record by record; prints the table,
 * why each row has its duplicates and whether the expected results were met, and writes the report.
 */
export function registerLabCommand(program: Command): void {
  program
    .command('lab')
    .description('run the duplicate-on-rebalance scenario with each strategy and print what each one lost and duplicated')
    .option('--records <n>', 'records to produce and process', integerOption('--records', 1, 1_000_000), LAB_DEFAULTS.records)
    .option('--partitions <n>', 'partitions of the lab topic', integerOption('--partitions', 1, 1000), LAB_DEFAULTS.partitions)
    .option('--handler-ms <n>', 'mean handler time per record (each record takes 0.5x to 1.5x of it)', integerOption('--handler-ms', 1, 10_000), LAB_DEFAULTS.handlerMs)
    .option('--consumers <n>', 'consumers in the group at the start', integerOption('--consumers', 1, 64), LAB_DEFAULTS.consumers)
    .option('--script <steps>', 'membership changes after the start, e.g. "join@2s,leave@4s,crash@6s" ("" for none)', script, LAB_DEFAULTS.script)
    .option('--seed <n>', 'seed of the handler times, for a repeatable run', integerOption('--seed', 0, 0xffffffff), LAB_DEFAULTS.seed)
    .option('--brokers <host:port,...>', 'run against this Kafka cluster instead of the embedded broker', list('--brokers'))
    .option('--store <url>', 'PostgreSQL for the store strategy (postgres://user:password@host:5432/db); default: PGlite in this process')
    .option('--strategies <names>', `strategies to run, in order (${STRATEGY_NAMES.join(', ')})`, list('--strategies'), [...STRATEGY_NAMES])
    .option('--one-at-a-time', 'run the strategies one after another instead of side by side (slower; no strategy shares the machine with another)')
    .option('--out <dir>', 'where to write index.html and results.json', LAB_DEFAULTS.outDir)
    .action(async (flags: LabFlags) => {
      const progress = new TerminalProgress(process.stdout)
      try {
        const results = await runLab(
          {
            records: flags.records,
            partitions: flags.partitions,
            handlerMs: flags.handlerMs,
            consumers: flags.consumers,
            script: flags.script,
            seed: flags.seed,
            ...(flags.brokers === undefined ? {} : { brokers: flags.brokers }),
            ...(flags.store === undefined ? {} : { store: flags.store }),
            sideBySide: flags.oneAtATime !== true,
            strategies: flags.strategies,
            outDir: flags.out,
          },
          { progress },
        )
        console.log('')
        console.log(renderTable(results.outcomes))
        console.log('')
        for (const r of results.strategies) {
          const summary = STRATEGIES.find((s) => s.name === r.outcome.strategy)?.summary ?? ''
          console.log(`${r.outcome.strategy.padEnd(16)} ${summary}`)
          console.log(`${' '.repeat(17)}${r.explanation}`)
        }
        console.log('')
        console.log('Counted record by record from the effects where a user sees them (what the handler did; for transactional, the')
        console.log('output topic read with read_committed; for store, the rows in the database):')
        for (const [term, meaning] of LEGEND) console.log(`  ${term.padEnd(18)}  ${meaning}`)
        for (const r of results.strategies.filter((r) => r.timedOut)) {
          console.log(`warning: ${r.outcome.strategy} hit its deadline with ${r.outcome.lost} records unprocessed; try fewer --records or a shorter --script`)
        }
        console.log('')
        console.log(verdict(results.strategies.map((r) => ({ strategy: r.outcome.strategy, result: r.expected }))))
        if (results.reportDir !== undefined) console.log(`\nreport: ${results.reportDir}/index.html and results.json`)
      } catch (error) {
        if (error instanceof LabConfigError) {
          console.error(`baton lab: ${error.message}`)
          process.exitCode = 2
          return
        }
        throw error
      }
    })
}
