/**
 * Options of a chaos run and their defaults. A run is repeatable from its seed: the schedule of
 * changes (which member is started, SIGTERMed or SIGKILLed, and when) and the handler times come
 * from it; only the machine's timing differs between two runs of one seed.
 */
import { LabConfigError } from '../errors.js'

/** How records are spread and handled: in offset order per partition, or per key within a partition. */
export type ChaosMode = 'partition' | 'key'

/**
 * The delivery guarantee under test. At-least-once: a record's effect is the member's own effect
 * line, and duplicates are allowed where a SIGKILL or a session loss explains them. The
 * exactly-once modes count effects where they are durable (`transactional`: output records a
 * read_committed reader sees; `store`: committed rows in PostgreSQL), and any duplicate there
 * fails the run, whatever happened to the members.
 */
export type DeliveryMode = 'at-least-once' | 'transactional' | 'store'

export const DELIVERY_MODES: readonly DeliveryMode[] = ['at-least-once', 'transactional', 'store']

export function allowsExplainedDuplicates(mode: DeliveryMode): boolean {
  switch (mode) {
    case 'at-least-once':
      return true
    case 'transactional':
    case 'store':
      return false
  }
}

export interface ChaosConfig {
  /** Membership changes (start, SIGTERM, SIGKILL); a broker restart comes in the middle. */
  readonly changes: number
  readonly seed: number
  readonly mode: ChaosMode
  readonly delivery: DeliveryMode
  readonly partitions: number
  /** Records written per second while the changes run. */
  readonly recordsPerSecond: number
  /** Each record's handler works between 0 and this many ms (from the seed and the record id). */
  readonly handlerMaxMs: number
  /** Time between two changes is drawn between these (ms). */
  readonly gapMinMs: number
  readonly gapMaxMs: number
  readonly minMembers: number
  readonly maxMembers: number
  readonly sessionTimeoutMs: number
  readonly heartbeatIntervalMs: number
  /** Broker restarts (SIGKILL, then a start on the same port and data), spread evenly over the changes. */
  readonly brokerRestarts: number
  /** How long the broker stays down in each restart (embedded broker only). */
  readonly brokerDownMs: number
  /** After the last change, how long the group may go without processing a record before what is left counts as lost. */
  readonly drainTimeoutMs: number
  /** Store mode's PostgreSQL server (a connection string); the run makes its own tables there. */
  readonly store: string | undefined
  /**
   * Zombies among the changes: a member SIGSTOPped for its session timeout and `zombieMarginMs`
   * more (the group moves its partitions on), then woken with SIGCONT, with whatever it had under
   * way. Off by default, so that a seed replays the changes it always made.
   */
  readonly zombies: boolean
  readonly zombieMarginMs: number
  /** The members' group protocol: classic (JoinGroup/SyncGroup) or consumer (KIP-848). */
  readonly groupProtocol: 'classic' | 'consumer'
  /** Against this cluster instead of an embedded broker process (no broker restart then). */
  readonly brokers: readonly string[] | undefined
  /** Folder for the members' event files, logs and the report. */
  readonly outDir: string
}

export const CHAOS_DEFAULTS: Omit<ChaosConfig, 'seed' | 'outDir' | 'brokers' | 'store'> = {
  changes: 20,
  mode: 'partition',
  delivery: 'at-least-once',
  partitions: 12,
  recordsPerSecond: 200,
  handlerMaxMs: 4,
  gapMinMs: 1_000,
  gapMaxMs: 3_000,
  minMembers: 1,
  maxMembers: 4,
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 1_500,
  brokerRestarts: 1,
  brokerDownMs: 1_500,
  zombies: false,
  zombieMarginMs: 3_000,
  groupProtocol: 'classic',
  drainTimeoutMs: 120_000,
}

export function resolveChaosConfig(options: Partial<ChaosConfig> & Pick<ChaosConfig, 'outDir'>): ChaosConfig {
  const config: ChaosConfig = {
    ...CHAOS_DEFAULTS,
    seed: Math.floor(Math.random() * 0xffffffff),
    brokers: undefined,
    store: undefined,
    ...options,
  }
  if (!DELIVERY_MODES.includes(config.delivery)) throw new LabConfigError(`delivery must be one of ${DELIVERY_MODES.join(', ')}, got ${String(config.delivery)}`)
  if (config.delivery === 'store') {
    // PGlite lives inside one process; chaos members are several processes at once.
    if (config.store === undefined) throw new LabConfigError('store delivery needs a PostgreSQL server shared by the member processes: give its connection string with --store postgres://...')
    if (config.mode !== 'partition') throw new LabConfigError(`store delivery handles a partition's records one at a time: use --mode partition, not ${config.mode}`)
  } else if (config.store !== undefined) {
    throw new LabConfigError(`--store is for store delivery; the run's delivery is ${config.delivery}: add --delivery store or leave --store out`)
  }
  if (!Number.isInteger(config.changes) || config.changes < 1) throw new LabConfigError(`changes must be a positive integer, got ${config.changes}`)
  if (config.minMembers < 1 || config.maxMembers < config.minMembers + 1) {
    throw new LabConfigError(`members must range over at least two counts with at least one always running, got ${config.minMembers}..${config.maxMembers}`)
  }
  if (config.gapMaxMs < config.gapMinMs) throw new LabConfigError(`the gap between changes must be a range, got ${config.gapMinMs}..${config.gapMaxMs} ms`)
  if (config.heartbeatIntervalMs >= config.sessionTimeoutMs) {
    throw new LabConfigError(`the heartbeat interval (${config.heartbeatIntervalMs} ms) must be below the session timeout (${config.sessionTimeoutMs} ms)`)
  }
  return config
}

/** A record's handler time: fixed by the seed and the id, so a replay works the same. */
export function handlerTimeMs(seed: number, id: number, maxMs: number): number {
  if (maxMs <= 0) return 0
  const mixed = Math.imul((id ^ seed) >>> 0, 0x9e3779b1) >>> 0
  return ((mixed ^ (mixed >>> 15)) >>> 0) % (maxMs + 1)
}
