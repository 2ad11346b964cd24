/**
 * The schedule of a chaos run, drawn from its seed before the run starts: when each change comes,
 * where the broker restarts fall, and the rolls that pick each change's kind and target. The kind is
 * picked when the change comes, among those the group allows then (a start below the most members,
 * a SIGTERM or SIGKILL above the fewest members that are up), because how many members are up
 * depends on how fast processes load on the machine; so one seed gives the same changes on a
 * machine that keeps up, and the report shows what actually happened.
 */
import { SeededRandom } from '../random.js'

/** `sigstop`: a zombie, frozen past its session timeout and then woken (SIGCONT); only with `zombies`. */
export type ChangeAction = 'start' | 'sigterm' | 'sigkill' | 'sigstop' | 'broker-restart'

export interface PlannedChange {
  /** 'broker-restart', or 'member' for a change whose kind is picked when it comes. */
  readonly kind: 'member' | 'broker-restart'
  /** Wait this long after the previous change. */
  readonly gapMs: number
  /** In [0, 1): picks the action among those allowed at the time. */
  readonly actionRoll: number
  /** In [0, 1): picks the member hit among the candidates. */
  readonly targetRoll: number
}

export interface ScheduleOptions {
  readonly seed: number
  readonly changes: number
  readonly gapMinMs: number
  readonly gapMaxMs: number
  /** Broker restarts spread evenly over the run (one in the middle for 1); they come on top of `changes`. */
  readonly brokerRestarts: number
}

export function planSchedule(options: ScheduleOptions): PlannedChange[] {
  const random = new SeededRandom(options.seed)
  const restartsAfter = new Set<number>()
  for (let i = 1; i <= options.brokerRestarts; i++) restartsAfter.add(Math.floor((options.changes * i) / (options.brokerRestarts + 1)))
  const changes: PlannedChange[] = []
  const next = (kind: PlannedChange['kind']): PlannedChange => ({ kind, gapMs: random.integer(options.gapMinMs, options.gapMaxMs), actionRoll: random.next(), targetRoll: random.next() })
  for (let n = 0; n < options.changes; n++) {
    if (restartsAfter.has(n)) changes.push(next('broker-restart'))
    changes.push(next('member'))
  }
  return changes
}

/** The action a roll picks among those allowed. */
export function pickAction(roll: number, allowed: readonly ChangeAction[]): ChangeAction | undefined {
  return allowed[Math.floor(roll * allowed.length)]
}
