/**
 * One chaos run: a broker (a `baton broker --data` child process, or the cluster given with
 * `brokers`), records written at a steady rate, member processes started, SIGTERMed and SIGKILLed
 * (and, with `zombies`, frozen past their session and woken) on the seeded schedule with broker
 * restarts in between, then a drain, a graceful stop of every
 * member, and the accounting of every record (accounting.ts).
 *
 * In the exactly-once modes the drain waits for, and the accounting counts, the durable outcomes
 * (outcomes.ts): the output topic read with read_committed, read from its start once the changes
 * are over (the reader then never sees the broker restart), or the rows table in PostgreSQL.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Admin, Producer } from '../../client/index.js'
import { LabError } from '../errors.js'
import { account, type ChaosAccount } from './accounting.js'
import { BrokerProcess } from './broker-process.js'
import { allowsExplainedDuplicates, type ChaosConfig } from './config.js'
import { EventReader, type MemberEvent } from './events.js'
import { MemberProcess } from './members.js'
import { createOutputTopic, OutputTopicOutcomes, StoreRowsOutcomes, type Outcome, type OutcomeSource, type OutcomeTables } from './outcomes.js'
import { pickAction, planSchedule, type ChangeAction } from './schedule.js'

export interface ChangeRecord {
  /** 0 for the members started before the first change. */
  readonly n: number
  /** Milliseconds since the run started. */
  readonly atMs: number
  readonly action: ChangeAction | 'sigcont' | 'final-sigterm' | 'final-sigkill'
  readonly member: string | undefined
  readonly note: string | undefined
}

export interface ChaosResult {
  readonly config: ChaosConfig
  readonly topic: string
  readonly changes: readonly ChangeRecord[]
  readonly account: ChaosAccount
  /** Sends the broker never acknowledged (not counted as produced). */
  readonly unacknowledgedSends: number
  /** onLost calls, summed over members. */
  readonly sessionLosses: number
  readonly durationMs: number
  readonly failures: readonly string[]
  /** Exactly-once modes: where the outcomes were read; store mode: the tables, kept when the run failed. */
  readonly outcomesFrom: string | undefined
  readonly storeTables: OutcomeTables | undefined
}

/** How the note of a member started for the drain (none was left running) begins. */
export const DRAIN_START = 'for the drain'

const PRODUCE_TICK_MS = 50
const STOP_GRACE_MS = 30_000
const GROUP_FORM_TIMEOUT_MS = 120_000
/** After the members stopped, how long the output topic may take to be read to its end. */
const SETTLE_TIMEOUT_MS = 60_000
/** How long a change may wait for the group to allow one (members still loading) before the run fails. */
const CHANGE_WAIT_TIMEOUT_MS = 180_000

export async function runChaos(config: ChaosConfig, progress: (line: string) => void = () => undefined): Promise<ChaosResult> {
  mkdirSync(config.outDir, { recursive: true })
  const startedAt = Date.now()
  const since = (): number => Date.now() - startedAt
  const exactlyOnce = config.delivery !== 'at-least-once'
  const topic = exactlyOnce ? `chaos-${config.delivery}-${config.mode}-${config.seed}` : `chaos-${config.mode}-${config.seed}`
  const outputTopic = `${topic}-out`
  // Plain identifiers: the topic's dashes become underscores.
  const storeTables: OutcomeTables | undefined =
    config.delivery === 'store' ? { rows: `chaos_rows_${config.seed}_${config.mode}`, offsets: `chaos_offsets_${config.seed}_${config.mode}` } : undefined
  progress(`chaos run: seed ${config.seed}, ${config.mode} mode, ${config.delivery}, ${config.changes} changes, topic ${topic}, files in ${config.outDir}`)

  const brokerLog: string[] = []
  // KIP-848 members get their session and heartbeat from the coordinator: the run's, through the broker's flags.
  const kip848 = config.groupProtocol === 'consumer' ? ['--consumer-session-timeout', String(config.sessionTimeoutMs), '--consumer-heartbeat-interval', String(config.heartbeatIntervalMs)] : []
  const broker =
    config.brokers === undefined ? await BrokerProcess.start({ dataDir: join(config.outDir, 'broker-data'), stderr: (line) => brokerLog.push(line), args: kip848 }) : undefined
  const bootstrap = broker?.bootstrap ?? [...config.brokers!]
  const members: MemberProcess[] = []
  const readers = new Map<string, EventReader>()
  const events = new Map<string, MemberEvent[]>()
  const killedAt = new Map<string, number>()
  const changes: ChangeRecord[] = []
  const acked = new Set<number>()
  let unacknowledgedSends = 0
  const producer = new Producer({ bootstrapServers: bootstrap, clientId: 'chaos-producer', lingerMs: 5 })
  let producing = true
  let producerLoop: Promise<void> = Promise.resolve()
  let outcomeSource: OutcomeSource | undefined
  let storeRows: StoreRowsOutcomes | undefined
  let accounted: { account: ChaosAccount; failures: string[] } | undefined

  const note = (n: number, action: ChangeRecord['action'], member: string | undefined, text?: string): void => {
    changes.push({ n, atMs: since(), action, member, note: text })
    progress(`  ${String(n).padStart(4)} +${(since() / 1000).toFixed(1)} s ${action}${member === undefined ? '' : ` ${member}`}${text === undefined ? '' : ` (${text})`}`)
  }
  const readEvents = (): void => {
    for (const [name, reader] of readers) events.get(name)!.push(...reader.readNew())
  }
  const startMember = (n: number, why?: string): void => {
    const name = `m${members.length + 1}`
    const member = MemberProcess.start(config.outDir, {
      name,
      brokers: bootstrap,
      topic,
      groupId: topic,
      mode: config.mode,
      seed: config.seed,
      handlerMaxMs: config.handlerMaxMs,
      sessionTimeoutMs: config.sessionTimeoutMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      groupProtocol: config.groupProtocol,
      delivery: config.delivery,
      partitions: config.partitions,
      outputTopic,
      store: storeTables === undefined ? undefined : { url: config.store!, tables: storeTables },
    })
    members.push(member)
    readers.set(name, new EventReader(member.eventsFile))
    events.set(name, [])
    note(n, 'start', name, why)
  }
  const running = (): MemberProcess[] => members.filter((m) => m.running)
  /** Running, not told to stop and not frozen: the members the group can count on. */
  const staying = (): MemberProcess[] => members.filter((m) => m.running && !m.stopping && !m.frozen)
  /** The zombies' wake-ups, each SIGCONT after its freeze. */
  const thaws: Promise<void>[] = []
  const frozen = new Map<string, { from: number; to: number | undefined }[]>()
  /** The action the roll picks among those the group allows now, waiting until one is allowed. */
  const allowedChange = async (roll: number, n: number): Promise<{ action: ChangeAction; up: MemberProcess[] }> => {
    let waitingSince: number | undefined
    for (;;) {
      readEvents()
      const up = staying().filter((m) => events.get(m.name)!.length > 0)
      const allowed: ChangeAction[] = []
      if (running().length < config.maxMembers) allowed.push('start')
      if (up.length > config.minMembers) allowed.push('sigterm', 'sigkill')
      // Last, so that a roll picks what it always picked where zombies are off.
      if (config.zombies && up.length > config.minMembers) allowed.push('sigstop')
      const action = pickAction(roll, allowed)
      if (action !== undefined) return { action, up }
      if (waitingSince === undefined) waitingSince = Date.now()
      else if (Date.now() - waitingSince > CHANGE_WAIT_TIMEOUT_MS) {
        throw new LabError(`change ${n}: no membership change was possible for ${CHANGE_WAIT_TIMEOUT_MS / 1000} s (${running().length} members running, ${up.length} of them up); see the member logs in ${config.outDir}`)
      }
      await sleep(100)
    }
  }

  try {
    const admin = new Admin({ bootstrapServers: bootstrap })
    try {
      await admin.createTopics([{ name: topic, partitions: config.partitions, replicationFactor: 1 }])
    } finally {
      await admin.close()
    }
    if (config.delivery === 'transactional') await createOutputTopic(bootstrap, outputTopic, config.partitions)
    if (storeTables !== undefined) outcomeSource = storeRows = await StoreRowsOutcomes.create(config.store!, storeTables)
    producerLoop = produceSteadily(producer, topic, config, () => producing, acked, () => unacknowledgedSends++)

    const plan = planSchedule(config)
    for (let i = 0; i < Math.min(2, config.maxMembers); i++) startMember(0)
    // The changes start once the group has formed: before that they would only hit processes still loading.
    const formedBy = Date.now() + GROUP_FORM_TIMEOUT_MS
    for (;;) {
      readEvents()
      const owned = new Set<number>()
      for (const m of running()) for (const p of ownedPartitions(events.get(m.name)!)) owned.add(p)
      if (owned.size === config.partitions) break
      if (Date.now() > formedBy) throw new LabError(`the group did not form within ${GROUP_FORM_TIMEOUT_MS / 1000} s; see the member logs in ${config.outDir}`)
      await sleep(100)
    }
    note(0, 'start', undefined, 'the group owns every partition; changes begin')
    let n = 0
    for (const change of plan) {
      await sleep(change.gapMs)
      readEvents()
      n++
      if (change.kind === 'broker-restart') {
        if (broker === undefined) {
          note(n, 'broker-restart', undefined, 'skipped: the run is against --brokers')
          continue
        }
        // Members being stopped finish their hand-off first: a commit refused because the broker is
        // down is a different failure from the one a restart is meant to test.
        await within(Promise.all(members.filter((m) => m.running && m.stopping).map((m) => m.exited)), STOP_GRACE_MS, undefined)
        const killed = performance.now()
        await broker.kill('SIGKILL')
        await sleep(config.brokerDownMs)
        await broker.restart()
        note(n, 'broker-restart', undefined, `SIGKILL, listening again ${Math.round(performance.now() - killed)} ms later`)
        continue
      }
      // Only members that are up (loaded) count, and are hit: stopping a process still loading its
      // modules tests nothing. When no change is allowed yet (every slot taken by members still
      // loading), the change waits for one rather than being skipped, so a run makes the changes it
      // was asked for however slowly the machine starts processes.
      const { action, up } = await allowedChange(change.actionRoll, n)
      if (action === 'start') {
        startMember(n)
        continue
      }
      const owning = up.filter((m) => ownedPartitions(events.get(m.name)!).size > 0)
      const candidates = owning.length > 0 ? owning : up
      const target = candidates[Math.floor(change.targetRoll * candidates.length)]!
      if (action === 'sigstop') {
        const frozenMs = config.sessionTimeoutMs + config.zombieMarginMs
        target.signal('SIGSTOP')
        const freeze: { from: number; to: number | undefined } = { from: Date.now(), to: undefined }
        frozen.set(target.name, [...(frozen.get(target.name) ?? []), freeze])
        note(n, action, target.name, `frozen for ${frozenMs / 1000} s, past its session`)
        const at = n
        thaws.push(
          sleep(frozenMs).then(() => {
            // The time before the signal: the member may write effects before this process reads the clock again.
            freeze.to = Date.now()
            target.signal('SIGCONT')
            if (target.running) note(at, 'sigcont', target.name, 'woken with what it had under way')
          }),
        )
        continue
      }
      if (action === 'sigkill') killedAt.set(target.name, Date.now())
      target.signal(action === 'sigkill' ? 'SIGKILL' : 'SIGTERM')
      note(n, action, target.name)
    }
    // Every zombie wakes before the drain: a frozen member would hold its transaction or session open past the end.
    await Promise.all(thaws)

    producing = false
    await producerLoop
    await producer.flush()
    if (staying().length === 0) startMember(n, `${DRAIN_START}: no member was left running`)
    if (config.delivery === 'transactional') outcomeSource = await OutputTopicOutcomes.start(bootstrap, outputTopic, config.partitions)
    progress(
      `  drain: ${acked.size} records acknowledged; waiting for every one to take effect${outcomeSource === undefined ? '' : ` in the ${outcomeSource.description}`} (giving up after ${config.drainTimeoutMs / 1000} s without progress)`,
    )
    // The drain gives up only after drainTimeoutMs without progress: a slow machine is not a loss.
    const done = new Set<number>()
    let progressAt = Date.now()
    for (;;) {
      readEvents()
      const before = done.size
      if (outcomeSource !== undefined) for (const o of await outcomeSource.outcomes()) done.add(o.id)
      else for (const list of events.values()) for (const e of list) if (e.e === 'effect') done.add(e.id)
      if (done.size > before) progressAt = Date.now()
      if ([...acked].every((id) => done.has(id)) || Date.now() - progressAt > config.drainTimeoutMs) break
      await sleep(250)
    }

    for (const member of running()) {
      member.signal('SIGTERM')
      note(n, 'final-sigterm', member.name)
    }
    for (const member of members) {
      const exited = await within(member.exited.then(() => true), STOP_GRACE_MS, false)
      if (exited) continue
      killedAt.set(member.name, Date.now())
      member.signal('SIGKILL')
      note(n, 'final-sigkill', member.name, `did not stop within ${STOP_GRACE_MS / 1000} s of SIGTERM`)
      await member.exited
    }
    readEvents()
    if (outcomeSource !== undefined) {
      // Every member has stopped: what is committed now is all there will be.
      await outcomeSource.settle(SETTLE_TIMEOUT_MS)
    }
    const outcomes: readonly Outcome[] | undefined = outcomeSource === undefined ? undefined : await outcomeSource.outcomes()
    const result = account({ produced: acked, events, killedAt, frozen, startedAt, ...(outcomes === undefined ? {} : { outcomes }) })
    accounted = { account: result, failures: failuresOf(config, result) }
  } finally {
    producing = false
    await producerLoop
    await producer.close().catch(() => undefined)
    for (const member of members) member.signal('SIGKILL')
    await Promise.all(members.map((m) => m.exited))
    // A passed run leaves no tables on the PostgreSQL server; a failed one keeps them to look into.
    if (accounted?.failures.length === 0) await storeRows?.drop().catch(() => undefined)
    await outcomeSource?.close()
    await broker?.stop()
    if (brokerLog.length > 0) writeFileSync(join(config.outDir, 'broker.log'), brokerLog.join('\n') + '\n')
  }

  const sessionLosses = [...events.values()].reduce((sum, list) => sum + list.filter((e) => e.e === 'lost').length, 0)
  const { account: result, failures } = accounted!
  return { config, topic, changes, account: result, unacknowledgedSends, sessionLosses, durationMs: since(), failures, outcomesFrom: outcomeSource?.description, storeTables }
}

/**
 * `promise`'s value, or `fallback` once `ms` have passed. The timer is cleared either way: a grace
 * period left running would keep the process (a test's, the CLI's) alive for its whole length.
 */
async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  const timer = new AbortController()
  try {
    return await Promise.race([promise, sleep(ms, fallback, { signal: timer.signal })])
  } finally {
    timer.abort()
  }
}

/** The partitions the member's events leave it owning: assigned, and not revoked or lost since. */
function ownedPartitions(list: readonly MemberEvent[]): Set<number> {
  const owned = new Set<number>()
  for (const e of list) {
    if (e.e === 'assigned') for (const p of e.ps) owned.add(p)
    else if (e.e === 'revoked' || e.e === 'lost') for (const p of e.ps) owned.delete(p)
  }
  return owned
}

/** What makes a run fail: any loss, and any duplicate a SIGKILL or a session loss does not explain. */
function failuresOf(config: ChaosConfig, result: ChaosAccount): string[] {
  const failures: string[] = []
  if (result.lost.length > 0) failures.push(`${result.lost.length} records lost (first ids: ${result.lost.slice(0, 10).join(', ')})`)
  if (!allowsExplainedDuplicates(config.delivery)) {
    if (result.duplicates.length > 0) failures.push(`${result.duplicates.length} records with a duplicated outcome in ${config.delivery} delivery (first ids: ${result.duplicates.slice(0, 10).map((d) => d.id).join(', ')})`)
    return failures
  }
  const unexplained = result.byExplanation.unexplained + result.byExplanation['commit-failed']
  if (unexplained > 0) failures.push(`${unexplained} duplicated records not explained by a SIGKILL, a session loss or a zombie`)
  return failures
}

/** Writes `recordsPerSecond` records a second until `going()` turns false; each acknowledged id goes into `acked`. */
async function produceSteadily(producer: Producer, topic: string, config: ChaosConfig, going: () => boolean, acked: Set<number>, failed: () => void): Promise<void> {
  let next = 0
  let owed = 0
  const pending = new Set<Promise<void>>()
  while (going()) {
    owed += (config.recordsPerSecond * PRODUCE_TICK_MS) / 1000
    for (; owed >= 1; owed--) {
      const id = next++
      const send = producer
        .send({
          topic,
          value: String(id),
          ...(config.mode === 'key' ? { key: `k${id % 64}` } : { key: null, partition: id % config.partitions }),
        })
        .then(
          () => void acked.add(id),
          () => failed(),
        )
        .finally(() => pending.delete(send))
      pending.add(send)
    }
    await sleep(PRODUCE_TICK_MS)
  }
  await Promise.all(pending)
}
