/**
 * The lab end to end: a broker (embedded, in this process, unless `brokers` names a cluster), one
 * fresh topic with the workload written to it, then every strategy through the same scenario (side
 * by side, each in a group of its own, or one after another), each verified record by record from
 * its effects where a user sees them, each judged against the result the lab expects of it, and
 * the results written as a self-contained HTML page and a JSON file.
 *
 * ```ts
 * const results = await runLab({ records: 600, script: 'join@1s,leave@2s' })
 * console.log(renderTable(results.outcomes))
 * ```
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { startBroker, type EmbeddedBroker } from '../broker/index.js'
import { Producer } from '../client/index.js'
import { describeConfig, resolveLabConfig, type LabConfig, type LabOptions } from './config.js'
import { judge, type ExpectedResult, type RunShape } from './expectations.js'
import { createLabTopic, produceInput } from './members/input.js'
import type { Observation } from './observation.js'
import { silentProgress, type ProgressReporter } from './progress.js'
import { renderHtmlReport } from './report-html.js'
import { StrategyRunner, type StrategyRun } from './run-strategy.js'
import { STRATEGIES, type Strategy } from './strategies/index.js'
import { summarize, type Outcome } from './verify.js'
import { WorkloadPlan } from './workload.js'

export interface StrategyResult {
  readonly outcome: Outcome
  /** What the strategy promises, as the table's `guarantee` column shows it. */
  readonly guarantee: string
  /** The result the lab expects of this strategy, and whether this run met it. */
  readonly expected: ExpectedResult
  /** Why this row has the duplicates it has, in a sentence. */
  readonly explanation: string
  readonly observation: Observation
  /** Group generations the members went through (a cooperative change takes two). */
  readonly generations: number
  readonly errors: Record<string, number>
  readonly timedOut: boolean
}

export interface LabResults {
  readonly configuration: Record<string, unknown>
  readonly topic: string
  readonly startedAt: string
  readonly durationMs: number
  readonly strategies: readonly StrategyResult[]
  readonly outcomes: readonly Outcome[]
  /** Where the report was written, when it was. */
  readonly reportDir: string | undefined
}

export interface RunLabIo {
  progress?: ProgressReporter
  /** Write index.html and results.json (default true). */
  writeReport?: boolean
}

export async function runLab(options: LabOptions = {}, io: RunLabIo = {}): Promise<LabResults> {
  const config = resolveLabConfig(options)
  const progress = io.progress ?? silentProgress
  const started = performance.now()
  const startedAt = new Date().toISOString()
  const plan = new WorkloadPlan({ records: config.records, partitions: config.partitions, handlerMs: config.handlerMs, seed: config.seed })
  let broker: EmbeddedBroker | undefined
  try {
    let bootstrap: readonly string[]
    if (config.brokers === null) {
      // KIP-848 members (baton-848) get the lab's short session and heartbeat from the coordinator.
      broker = await startBroker({
        autoCreateTopics: false,
        groups: {
          consumerSessionTimeoutMs: config.timeouts.sessionTimeoutMs,
          consumerHeartbeatIntervalMs: config.timeouts.heartbeatIntervalMs,
          // Kafka's minimum (6 s) unless the run asks for a shorter session.
          minSessionTimeoutMs: Math.min(6000, config.timeouts.sessionTimeoutMs),
        },
      })
      bootstrap = broker.bootstrap
      progress.info(`embedded broker listening on ${bootstrap.join(',')}`)
    } else {
      bootstrap = config.brokers
      progress.info(`using the cluster at ${bootstrap.join(',')}`)
    }
    const runId = `${config.seed}-${Date.now().toString(36)}`
    const topic = `baton-lab-${runId}`
    await prepareInput(bootstrap, topic, plan, progress)
    const chosen = config.strategies.flatMap((name) => STRATEGIES.filter((s) => s.name === name))
    const runners = chosen.map(
      (strategy) =>
        new StrategyRunner(
          strategy,
          {
            bootstrap,
            topic,
            groupId: `baton-lab-${runId}-${strategy.name}`,
            plan,
            consumers: config.consumers,
            script: config.script,
            timeouts: config.timeouts,
            runId,
            store: config.store ?? undefined,
            deadlineMs: deadlineFor(config, plan),
          },
          { event: (s, at, message) => progress.event(s, at, message) },
        ),
    )
    type Ran = { strategy: Strategy; run: StrategyRun; generations: number }
    const runOne = async (runner: StrategyRunner, index: number): Promise<Ran> => {
      const strategy = chosen[index] as Strategy
      progress.strategyStarted(strategy.name, index, chosen.length, () => runner.status())
      try {
        const run = await runner.run()
        progress.strategyFinished(summarize(run.observation))
        return { strategy, run, generations: runner.generations }
      } catch (error) {
        progress.strategyFinished(summarize(runner.recorder.finish(strategy.name, config.records)))
        throw error
      }
    }
    let runs: Ran[]
    if (config.sideBySide) {
      // Every strategy at once, each with its own group over the same topic: the lab takes as long
      // as its slowest strategy (store on PGlite, whose one connection serves a transaction at a
      // time). What they share is opened first, all of it, before any member starts.
      const opened = await Promise.allSettled(runners.map((r) => r.open()))
      const notOpened = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (notOpened !== undefined) {
        await Promise.allSettled(runners.map((r) => r.close()))
        throw notOpened.reason
      }
      const settled = await Promise.allSettled(runners.map((runner, index) => runOne(runner, index)))
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (failed !== undefined) throw failed.reason
      runs = settled.map((r) => (r as PromiseFulfilledResult<Ran>).value)
    } else {
      runs = []
      for (const [index, runner] of runners.entries()) runs.push(await runOne(runner, index))
    }
    const results = judged(runs, shapeOf(config))
    const lab: LabResults = {
      configuration: describeConfig(config),
      topic,
      startedAt,
      durationMs: Math.round(performance.now() - started),
      strategies: results,
      outcomes: results.map((r) => r.outcome),
      reportDir: io.writeReport === false ? undefined : resolve(config.outDir),
    }
    if (io.writeReport !== false) await writeReport(config, lab)
    return lab
  } finally {
    await broker?.stop()
  }
}

/** Each strategy's result, its expectation judged against the others of the same run (baton against naive). */
function judged(runs: readonly { strategy: Strategy; run: StrategyRun; generations: number }[], shape: RunShape): StrategyResult[] {
  const outcomes = runs.map((r) => summarize(r.run.observation))
  return runs.map(({ strategy, run, generations }, i) => {
    const outcome = outcomes[i] as Outcome
    return {
      outcome,
      guarantee: strategy.guarantee,
      expected: judge(strategy.expectation, outcome, outcomes, shape),
      explanation: strategy.explain(outcome),
      observation: run.observation,
      generations,
      errors: run.errors,
      timedOut: run.timedOut,
    }
  })
}

function shapeOf(config: LabConfig): RunShape {
  return { changes: config.script.length, crashes: config.script.filter((s) => s.action === 'crash').length }
}

async function prepareInput(bootstrap: readonly string[], topic: string, plan: WorkloadPlan, progress: ProgressReporter): Promise<void> {
  const producer = new Producer({ bootstrapServers: bootstrap, clientId: 'baton-lab-input', lingerMs: 2 })
  try {
    await producer.connect()
    await createLabTopic(bootstrap, producer, topic, plan.workload.partitions)
    await produceInput(producer, topic, plan)
    progress.info(`produced ${plan.workload.records} records to ${topic} (${plan.workload.partitions} partitions)`)
  } finally {
    await producer.close()
  }
}

/**
 * How long a strategy may take before its missing records count as lost: the script, the
 * processing itself several times over (rebalances pause partitions), and a crash's session
 * timeout twice, plus slack for a slow machine.
 */
function deadlineFor(config: LabConfig, plan: WorkloadPlan): number {
  if (config.strategyDeadlineMs !== undefined) return config.strategyDeadlineMs
  const lastStep = config.script.at(-1)?.atMs ?? 0
  const crashes = config.script.filter((s) => s.action === 'crash').length
  return lastStep + 3 * plan.idealDurationMs + 2 * (crashes + 1) * config.timeouts.sessionTimeoutMs + 30_000
}

async function writeReport(config: LabConfig, lab: LabResults): Promise<void> {
  const dir = resolve(config.outDir)
  await mkdir(dir, { recursive: true })
  const html = renderHtmlReport({
    title: 'baton lab: duplicates on rebalance, by strategy',
    configuration: lab.configuration,
    outcomes: lab.outcomes,
    observations: lab.strategies.map((s) => s.observation),
    partitions: config.partitions,
    descriptions: Object.fromEntries(STRATEGIES.map((s) => [s.name, s.summary])),
    verdicts: Object.fromEntries(lab.strategies.map((s) => [s.outcome.strategy, { explanation: s.explanation, expected: s.expected }])),
  })
  await writeFile(join(dir, 'index.html'), html)
  await writeFile(join(dir, 'results.json'), `${JSON.stringify(resultsJson(lab), null, 2)}\n`)
}

/** results.json: the configuration, and per strategy the outcome and what happened, without the raw effects. */
export function resultsJson(lab: LabResults): Record<string, unknown> {
  return {
    configuration: lab.configuration,
    topic: lab.topic,
    startedAt: lab.startedAt,
    durationMs: lab.durationMs,
    // false when some strategy missed its expected result; strategies this run cannot judge do not count.
    expectationsMet: lab.strategies.every((s) => s.expected.met !== false),
    strategies: lab.strategies.map((s) => ({
      ...s.outcome,
      guarantee: s.guarantee,
      expected: s.expected.expected,
      expectationMet: s.expected.met,
      judgedOn: s.expected.detail,
      explanation: s.explanation,
      generations: s.generations,
      timedOut: s.timedOut,
      rebalanceSpans: s.observation.rebalances,
      crashes: s.observation.crashes,
      duplicates: duplicatesOf(s.observation),
      recoveredErrors: s.errors,
    })),
  }
}

/** Each duplicated record with the members that applied it, in order. */
function duplicatesOf(observation: Observation): { recordId: number; partition: number; offset: number; by: string[] }[] {
  const byRecord = new Map<number, { partition: number; offset: number; by: string[] }>()
  for (const e of observation.effects) {
    const entry = byRecord.get(e.recordId)
    if (entry === undefined) byRecord.set(e.recordId, { partition: e.partition, offset: e.offset, by: [e.consumerId] })
    else entry.by.push(e.consumerId)
  }
  return [...byRecord]
    .filter(([, e]) => e.by.length > 1)
    .map(([recordId, e]) => ({ recordId, ...e }))
    .sort((a, b) => a.recordId - b.recordId)
}
