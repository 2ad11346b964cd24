/**
 * Runs one strategy through the scenario: start the consumers, apply the membership script at its
 * times, wait until every record has been processed and the group has absorbed the last change,
 * then stop every member gracefully. What happened is in the returned observation; nothing here
 * judges it (that is verify.ts).
 */
import { setTimeout as delay } from 'node:timers/promises'
import { EffectSink } from './effects.js'
import { GroupWatch } from './group-watch.js'
import { ObservationRecorder, type Observation } from './observation.js'
import type { ScriptStep } from './script.js'
import type { LabMember, LabTimeouts, Strategy, StrategySession } from './strategies/types.js'
import type { WorkloadPlan } from './workload.js'
import { BatonError } from '../client/index.js'

export interface Scenario {
  readonly bootstrap: readonly string[]
  readonly topic: string
  /** Each strategy gets its own group, so each starts from the beginning of the topic. */
  readonly groupId: string
  readonly plan: WorkloadPlan
  readonly consumers: number
  readonly script: readonly ScriptStep[]
  readonly timeouts: LabTimeouts
  /** The lab run's id, for names a strategy creates (an output topic, a table). */
  readonly runId: string
  /** `--store`: a PostgreSQL connection string, or undefined for PGlite in this process. */
  readonly store: string | undefined
  /** Give up waiting for the last records after this long (ms from the start); they count as lost. */
  readonly deadlineMs: number
}

/** What the progress line shows while a strategy runs. */
export interface RunStatus {
  readonly strategy: string
  readonly elapsedMs: number
  readonly processed: number
  readonly total: number
  readonly extraEffects: number
  readonly members: number
  readonly rebalancing: boolean
}

export interface RunEvents {
  /** Something worth a line of its own: a script step applied, a rebalance absorbed. */
  event?(strategy: string, atMs: number, message: string): void
}

export interface StrategyRun {
  readonly observation: Observation
  /** Recovered errors (refused commits, dropped connections) by class name, for the report. */
  readonly errors: Record<string, number>
  /** True if the run hit its deadline before every record was processed. */
  readonly timedOut: boolean
}

export class StrategyRunner {
  readonly recorder = new ObservationRecorder()
  private readonly sink: EffectSink
  private readonly watch: GroupWatch
  private readonly members = new Map<string, LabMember>()
  private readonly departed: LabMember[] = []
  private readonly departures: Promise<void>[] = []
  private readonly errors: Record<string, number> = {}
  private session: StrategySession | undefined
  private nextMember = 1
  /** Members still in the group when the work was done, for the last status line. */
  private membersAtEnd: number | undefined

  constructor(
    private readonly strategy: Strategy,
    private readonly scenario: Scenario,
    private readonly events: RunEvents = {},
  ) {
    this.sink = new EffectSink(this.recorder, scenario.plan)
    this.watch = new GroupWatch(this.recorder, this.sink, scenario.plan.workload.partitions)
  }

  status(): RunStatus {
    return {
      strategy: this.strategy.name,
      elapsedMs: this.recorder.now(),
      processed: this.sink.processed,
      total: this.scenario.plan.workload.records,
      extraEffects: this.sink.extraEffects,
      members: this.membersAtEnd ?? this.watch.memberCount,
      rebalancing: this.watch.rebalancing,
    }
  }

  /**
   * Opens what the strategy's members share (an output topic and its reader, a database). `run`
   * does it if it was not done; the lab does it for every strategy before any starts, so that one
   * opening (PGlite compiling its WebAssembly) does not stall another's members mid-rebalance.
   */
  async open(): Promise<void> {
    this.session ??= await this.strategy.open({
      bootstrap: this.scenario.bootstrap,
      topic: this.scenario.topic,
      groupId: this.scenario.groupId,
      runId: this.scenario.runId,
      partitions: this.scenario.plan.workload.partitions,
      timeouts: this.scenario.timeouts,
      sink: this.sink,
      store: this.scenario.store,
      onError: (error) => this.countError(error),
    })
  }

  async run(): Promise<StrategyRun> {
    try {
      await this.open()
      this.recorder.restart()
      this.watch.begin('initial')
      await Promise.all(Array.from({ length: this.scenario.consumers }, () => this.add().start()))
      for (const step of this.scenario.script) {
        // One change at a time, as in the report: a step waits for its time and for the group to have
        // absorbed the previous change, so each rebalance is measured on its own.
        await this.untilAbsorbed()
        const wait = step.atMs - this.recorder.now()
        if (wait > 0) await delay(wait)
        await this.apply(step)
      }
      const done = await this.untilDone()
      this.membersAtEnd = this.watch.memberCount
      await this.stopAll()
      await this.closeSession()
      return {
        observation: this.recorder.finish(this.strategy.name, this.scenario.plan.workload.records),
        errors: this.errors,
        timedOut: !done,
      }
    } catch (error) {
      await this.stopAll().catch(() => undefined)
      await this.closeSession().catch(() => undefined)
      throw error
    }
  }

  /** Releases what `open` took, for a runner that will not run (another strategy failed to open). */
  async close(): Promise<void> {
    await this.closeSession()
  }

  private async closeSession(): Promise<void> {
    const session = this.session
    this.session = undefined
    await session?.close()
  }

  /** Generations the members went through: the coordinator's count of rebalances. */
  get generations(): number {
    return this.watch.generationCount
  }

  /** A new member, watched from before it joins, so the change it brings is not missed. */
  private add(): LabMember {
    const consumerId = `consumer-${this.nextMember++}`
    if (this.session === undefined) throw new Error('a member was added before the strategy was opened')
    const member = this.session.createMember({
      consumerId,
      bootstrap: this.scenario.bootstrap,
      topic: this.scenario.topic,
      groupId: this.scenario.groupId,
      timeouts: this.scenario.timeouts,
      sink: this.sink,
      ownership: this.watch.ownership,
      onError: (error) => this.countError(error),
    })
    this.members.set(consumerId, member)
    this.watch.add(member.consumer)
    return member
  }

  private async apply(step: ScriptStep): Promise<void> {
    if (step.action === 'join') {
      const member = this.add()
      this.watch.begin('join')
      this.note(`join: ${member.consumerId} joins`)
      await member.start()
      return
    }
    const consumerId = this.watch.busiestMember()
    const member = consumerId === undefined ? undefined : this.members.get(consumerId)
    if (member === undefined) return
    this.members.delete(member.consumerId)
    this.departed.push(member)
    if (step.action === 'leave') {
      this.watch.remove(member.consumerId)
      this.watch.begin('leave')
      this.note(`leave: ${member.consumerId} leaves the group`)
      this.departures.push(member.stop().catch((error: unknown) => this.countError(error)))
      return
    }
    const owned = member.consumer.owned()
    const crashedAt = this.recorder.now()
    this.sink.crash(member.consumerId)
    member.crash()
    this.watch.remove(member.consumerId)
    this.watch.begin('crash')
    // Where its progress was durable is read after the crash: a dead member commits nothing more.
    const inFlight = this.sink.inFlight(member.consumerId, owned, await this.committedOf(member, owned))
    this.recorder.crash(member.consumerId, inFlight, crashedAt)
    this.note(`crash: ${member.consumerId} dies with ${inFlight} records in flight; the coordinator notices after the ${this.scenario.timeouts.sessionTimeoutMs} ms session timeout`)
  }

  private async committedOf(member: LabMember, partitions: readonly number[]): Promise<Map<number, bigint | undefined>> {
    const committed = new Map<number, bigint | undefined>()
    for (const partition of partitions) {
      try {
        committed.set(partition, member.committedOffset === undefined ? member.consumer.committedOffset({ topic: this.scenario.topic, partition }) : await member.committedOffset(partition))
      } catch (error) {
        this.countError(error)
      }
    }
    return committed
  }

  /**
   * Waits until no change is being absorbed, but not forever: past the time a rebalance can take
   * (a crashed member's session timeout, then a rebalance timeout), the script goes on regardless.
   */
  private untilAbsorbed(): Promise<void> {
    const boundMs = this.scenario.timeouts.sessionTimeoutMs + this.scenario.timeouts.rebalanceTimeoutMs
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer)
        off()
        resolve()
      }
      const timer = setTimeout(finish, boundMs)
      const off = this.watch.onChange(() => {
        if (!this.watch.rebalancing) finish()
      })
      if (!this.watch.rebalancing) finish()
    })
  }

  /** Resolves true once every record has an effect and no change is still being absorbed; false at the deadline. */
  private untilDone(): Promise<boolean> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.sink.allProcessed && !this.watch.rebalancing) finish(true)
      }
      const finish = (done: boolean): void => {
        clearTimeout(timer)
        offEffect()
        offChange()
        resolve(done)
      }
      const timer = setTimeout(() => finish(false), Math.max(0, this.scenario.deadlineMs - this.recorder.now()))
      const offEffect = this.sink.onEffect(check)
      const offChange = this.watch.onChange(check)
      check()
    })
  }

  /**
   * Stops every member gracefully, in parallel. A stop that has not finished when a graceful stop
   * must have (drain deadline, then a rebalance) is cut short like a crash, so the lab always ends;
   * it is counted as a `StopTimeoutError` in the report.
   */
  private async stopAll(): Promise<void> {
    const live = [...this.members.values()]
    this.members.clear()
    for (const member of live) this.watch.remove(member.consumerId)
    const all = [...live, ...this.departed]
    const pending = new Set(all)
    const stops = all.map((member) =>
      member
        .stop()
        .catch((error: unknown) => this.countError(error))
        .finally(() => pending.delete(member)),
    )
    const { drainTimeoutMs, rebalanceTimeoutMs } = this.scenario.timeouts
    let timer: NodeJS.Timeout | undefined
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainTimeoutMs + rebalanceTimeoutMs + 5000)))
    await Promise.race([Promise.all([...stops, ...this.departures]), bound])
    clearTimeout(timer)
    for (const member of pending) {
      this.countError(new StopTimeoutError(member.consumerId))
      member.crash()
    }
  }

  private note(message: string): void {
    this.events.event?.(this.strategy.name, this.recorder.now(), message)
  }

  private countError(error: unknown): void {
    const name = error instanceof Error ? error.constructor.name : 'unknown'
    this.errors[name] = (this.errors[name] ?? 0) + 1
  }
}

/** A member did not finish its graceful stop in the time one may take; the lab cut it off. */
export class StopTimeoutError extends BatonError {
  constructor(consumerId: string) {
    super('LAB_STOP_TIMEOUT', `${consumerId} did not stop within its drain deadline plus a rebalance timeout; the lab cut it off`)
  }
}
