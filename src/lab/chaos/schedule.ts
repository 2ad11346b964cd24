/**
 * The schedule of a chaos run, drawn from its seed before the run starts: which change comes when,
 * and which member it hits. Member counts follow from the schedule alone (a start adds one, a
 * SIGTERM or SIGKILL removes one), so the same seed gives the same changes on any machine; only
 * how the group reacts in between depends on timing.
 */
import { SeededRandom } from '../random.js'

export type ChangeAction = 'start' | 'sigterm' | 'sigkill' | 'broker-restart'

export interface PlannedChange {
  readonly action: ChangeAction
  /** Wait this long after the previous change. */
  readonly gapMs: number
  /** For sigterm and sigkill: the index, among the members running at that point in start order, of the one hit. */
  readonly target: number
}

export interface SchedulePlan {
  readonly initialMembers: number
  readonly changes: readonly PlannedChange[]
}

export interface ScheduleOptions {
  readonly seed: number
  readonly changes: number
  readonly minMembers: number
  readonly maxMembers: number
  readonly gapMinMs: number
  readonly gapMaxMs: number
  /** Broker restarts spread evenly over the run (one in the middle for 1); they come on top of `changes`. */
  readonly brokerRestarts: number
}

export function planSchedule(options: ScheduleOptions): SchedulePlan {
  const random = new SeededRandom(options.seed)
  const initialMembers = Math.min(options.maxMembers, Math.max(options.minMembers, 2))
  const restartsAfter = new Set<number>()
  for (let i = 1; i <= options.brokerRestarts; i++) restartsAfter.add(Math.floor((options.changes * i) / (options.brokerRestarts + 1)))
  const changes: PlannedChange[] = []
  let running = initialMembers
  for (let n = 0; n < options.changes; n++) {
    if (restartsAfter.has(n)) changes.push({ action: 'broker-restart', gapMs: random.integer(options.gapMinMs, options.gapMaxMs), target: 0 })
    const choices: ChangeAction[] = []
    if (running < options.maxMembers) choices.push('start')
    if (running > options.minMembers) choices.push('sigterm', 'sigkill')
    const action = choices[random.integer(0, choices.length - 1)]!
    const target = action === 'start' ? 0 : random.integer(0, running - 1)
    running += action === 'start' ? 1 : -1
    changes.push({ action, gapMs: random.integer(options.gapMinMs, options.gapMaxMs), target })
  }
  return { initialMembers, changes }
}
