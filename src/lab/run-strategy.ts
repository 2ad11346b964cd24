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
import type { LabMember, LabTimeouts, Strategy } from './strategies/types.js'
import type { WorkloadPlan } from './workload.js'

export interface Scenario {
  readonly bootstrap: readonly string[]
  readonly topic: string
  /** Each strategy gets its own group, so each starts from the beginning of the topic. */
  readonly groupId: string
  readonly plan: WorkloadPlan
  readonly consumers: number
  readonly script: readonly ScriptStep[]
  readonly timeouts: LabTimeouts
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
  private nextMember = 1

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
      members: this.watch.memberCount,
      rebalancing: this.watch.rebalancing,
    }
  }

  async run(): Promise<StrategyRun> {
    try {
      this.watch.begin('initial')
      await Promise.all(Array.from({ length: this.scenario.consumers }, () => this.add().start()))
      for (const step of this.scenario.script) {
        const wait = step.atMs - this.recorder.now()
        // The script's clock: each step happens at its time, whatever the group is doing.
        if (wait > 0) await delay(wait)
        await this.apply(step)
      }
      const done = await this.untilDone()
      await this.stopAll()
      return {
        observation: this.recorder.finish(this.strategy.name, this.scenario.plan.workload.records),
        errors: this.errors,
        timedOut: !done,
      }
    } catch (error) {
      await this.stopAll().catch(() => undefined)
      throw error
    }
  }

  /** Generations the members went through: the coordinator's count of rebalances. */
  get generations(): number {
    return this.watch.generationCount
  }

  /** A new member, watched from before it joins, so the change it brings is not missed. */
  private add(): LabMember {
    const consumerId = `consumer-${this.nextMember++}`
    const member = this.strategy.createMember({
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
    const topic = this.scenario.topic
    const inFlight = this.sink.crash(member.consumerId, owned, (partition) => member.consumer.committedOffset({ topic, partition }))
    member.crash()
    this.recorder.crash(member.consumerId, inFlight)
    this.watch.remove(member.consumerId)
    this.watch.begin('crash')
    this.note(`crash: ${member.consumerId} dies with ${inFlight} records in flight; the coordinator notices after the ${this.scenario.timeouts.sessionTimeoutMs} ms session timeout`)
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

  private async stopAll(): Promise<void> {
    const live = [...this.members.values()]
    this.members.clear()
    for (const member of live) this.watch.remove(member.consumerId)
    const stops = [...live, ...this.departed].map((member) => member.stop().catch((error: unknown) => this.countError(error)))
    await Promise.all([...stops, ...this.departures])
  }

  private note(message: string): void {
    this.events.event?.(this.strategy.name, this.recorder.now(), message)
  }

  private countError(error: unknown): void {
    const name = error instanceof Error ? error.constructor.name : 'unknown'
    this.errors[name] = (this.errors[name] ?? 0) + 1
  }
}
