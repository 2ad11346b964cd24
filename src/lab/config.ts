/**
 * A lab run's configuration: the defaults that follow the classic report (6 partitions, 3
 * consumers, 500 ms handlers scaled down tenfold, a consumer joining, one leaving, one crashing),
 * and the checks that turn a bad flag into a message saying what to pass instead.
 */
import { LabConfigError } from './errors.js'
import { formatScript, parseScript, validateScript, type ScriptStep } from './script.js'
import { STRATEGY_NAMES } from './strategies/index.js'
import type { LabTimeouts } from './strategies/types.js'

export interface LabOptions {
  records?: number
  partitions?: number
  handlerMs?: number
  consumers?: number
  script?: string
  seed?: number
  /** Bootstrap brokers of an existing cluster; absent: the embedded broker, started in this process. */
  brokers?: readonly string[]
  /**
   * The database of the `store` strategy: a PostgreSQL connection string (`postgres://...`).
   * Default: PGlite in this process, so the lab needs nothing but npm.
   */
  store?: string
  /** Strategies to run, in this order. Default: all. */
  strategies?: readonly string[]
  /** Where index.html and results.json go. Default `lab-report`. */
  outDir?: string
  /**
   * How long one strategy may run before its unprocessed records count as lost. Default: from the
   * script, the workload and the timeouts, generously; tests set it below their own timeout.
   */
  strategyDeadlineMs?: number
  /**
   * The members' session timeout, which is what a crash costs before its partitions move. Default
   * 6 s, Kafka's minimum (group.min.session.timeout.ms), which the embedded broker keeps unless
   * this asks for less; tests running many crashes shorten it.
   */
  sessionTimeoutMs?: number
  /**
   * Run the strategies side by side, each with its own group over the same topic (default), or one
   * after another (`false`, `--one-at-a-time`), where no strategy shares the machine with another.
   */
  sideBySide?: boolean
}

export interface LabConfig {
  readonly records: number
  readonly partitions: number
  readonly handlerMs: number
  readonly consumers: number
  readonly script: readonly ScriptStep[]
  readonly seed: number
  readonly brokers: readonly string[] | null
  /** A PostgreSQL connection string, or null for PGlite. */
  readonly store: string | null
  readonly strategies: readonly string[]
  readonly outDir: string
  readonly timeouts: LabTimeouts
  readonly strategyDeadlineMs: number | undefined
  readonly sideBySide: boolean
}

export const LAB_DEFAULTS = {
  records: 1200,
  partitions: 6,
  // The report's handlers took 500 ms; a tenth keeps the whole lab well under two minutes.
  handlerMs: 50,
  consumers: 3,
  script: 'join@2s,leave@4s,crash@6s',
  seed: 1,
  outDir: 'lab-report',
} as const

/**
 * Kafka's group.min.session.timeout.ms is 6 s, and the embedded broker keeps Kafka's bound, so a
 * crash costs 6 s here instead of the 45 s of Kafka's client default.
 */
const SESSION_TIMEOUT_MS = 6000

export function labTimeouts(sessionTimeoutMs = SESSION_TIMEOUT_MS): LabTimeouts {
  return {
    sessionTimeoutMs,
    // A third of the session at most, as Kafka recommends, so that one late heartbeat is no eviction.
    heartbeatIntervalMs: Math.min(500, Math.floor(sessionTimeoutMs / 4)),
    rebalanceTimeoutMs: 10_000,
    drainTimeoutMs: 5000,
  }
}

export function resolveLabConfig(options: LabOptions = {}): LabConfig {
  const records = integer('--records', options.records, LAB_DEFAULTS.records, 1, 1_000_000)
  const partitions = integer('--partitions', options.partitions, LAB_DEFAULTS.partitions, 1, 1000)
  const handlerMs = integer('--handler-ms', options.handlerMs, LAB_DEFAULTS.handlerMs, 1, 10_000)
  const consumers = integer('--consumers', options.consumers, LAB_DEFAULTS.consumers, 1, 64)
  const seed = integer('--seed', options.seed, LAB_DEFAULTS.seed, 0, 0xffffffff)
  const script = parseScript(options.script ?? LAB_DEFAULTS.script)
  validateScript(script, consumers)
  const strategies = options.strategies ?? STRATEGY_NAMES
  if (strategies.length === 0) throw new LabConfigError(`--strategies is empty; choose from ${STRATEGY_NAMES.join(', ')}`)
  for (const name of strategies) {
    if (!STRATEGY_NAMES.includes(name)) throw new LabConfigError(`--strategies: unknown strategy "${name}"; choose from ${STRATEGY_NAMES.join(', ')}`)
  }
  if (new Set(strategies).size !== strategies.length) throw new LabConfigError('--strategies names a strategy twice; list each once')
  let brokers: string[] | null = null
  if (options.brokers !== undefined) {
    brokers = options.brokers.map((b) => b.trim()).filter((b) => b !== '')
    const bad = brokers.find((b) => !/^[^:\s,]+:\d{1,5}$/.test(b) || Number(b.slice(b.lastIndexOf(':') + 1)) > 65535)
    if (brokers.length === 0 || bad !== undefined) {
      throw new LabConfigError(`--brokers must be a comma-separated list of host:port${bad === undefined ? '' : `, got "${bad}"`}; leave it out to use the embedded broker`)
    }
  }
  const store = options.store === undefined ? null : options.store.trim()
  if (store !== null && !/^postgres(ql)?:\/\/\S+$/.test(store)) {
    throw new LabConfigError(`--store must be a PostgreSQL connection string (postgres://user:password@host:5432/database); leave it out to use PGlite in this process`)
  }
  const outDir = options.outDir ?? LAB_DEFAULTS.outDir
  if (outDir.trim() === '') throw new LabConfigError('--out must name a directory')
  const strategyDeadlineMs = options.strategyDeadlineMs === undefined ? undefined : integer('strategyDeadlineMs', options.strategyDeadlineMs, 0, 1000, 3_600_000)
  const sessionTimeoutMs = integer('sessionTimeoutMs', options.sessionTimeoutMs, SESSION_TIMEOUT_MS, 1000, 300_000)
  return { records, partitions, handlerMs, consumers, script, seed, brokers, store, strategies: [...strategies], outDir, timeouts: labTimeouts(sessionTimeoutMs), strategyDeadlineMs, sideBySide: options.sideBySide ?? true }
}

/** The configuration as results.json and the report show it: enough to run the same lab again. */
export function describeConfig(config: LabConfig): Record<string, unknown> {
  return {
    records: config.records,
    partitions: config.partitions,
    handlerMs: config.handlerMs,
    consumers: config.consumers,
    script: formatScript(config.script),
    seed: config.seed,
    brokers: config.brokers ?? 'embedded',
    store: config.store === null ? 'pglite' : withoutPassword(config.store),
    strategies: config.strategies,
    sideBySide: config.sideBySide,
    timeouts: config.timeouts,
  }
}

/** A connection string as a report may show it: the password, if any, replaced. */
function withoutPassword(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:@/]+:)[^@]*@/, '$1***@')
}

function integer(flag: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new LabConfigError(`${flag} must be an integer from ${min} to ${max}, got ${String(value)}`)
  }
  return value
}
