/**
 * The membership script of a lab run: `join@2s,leave@5s,crash@8s`. Each step changes the group at
 * a time measured from the start of consumption, so every strategy faces the same changes. A step
 * also waits for the group to absorb the previous change (one rebalance at a time, as in the
 * classic report), so on a slow machine it may happen later than written; the run's events and
 * the report show when each one actually happened.
 */
import { LabConfigError } from './errors.js'

export type MembershipAction = 'join' | 'leave' | 'crash'

export interface ScriptStep {
  action: MembershipAction
  /** Milliseconds after consumption starts. */
  atMs: number
}

const STEP = /^(join|leave|crash)@(\d+(?:\.\d+)?)(ms|s)$/

/** Parses a script; steps come back in time order. An empty string is an empty script. */
export function parseScript(text: string): ScriptStep[] {
  const steps: ScriptStep[] = []
  for (const raw of text.split(',')) {
    const part = raw.trim()
    if (part === '') continue
    const match = STEP.exec(part)
    if (!match) {
      throw new LabConfigError(`--script step "${part}" is not ACTION@TIME: use join, leave or crash, then a time such as 2s or 1500ms`)
    }
    const amount = Number(match[2])
    steps.push({ action: match[1] as MembershipAction, atMs: Math.round(match[3] === 's' ? amount * 1000 : amount) })
  }
  return steps.sort((a, b) => a.atMs - b.atMs)
}

export function formatScript(steps: readonly ScriptStep[]): string {
  return steps.map((s) => `${s.action}@${s.atMs % 1000 === 0 ? `${s.atMs / 1000}s` : `${s.atMs}ms`}`).join(',')
}

/**
 * Checks a script against the starting group size: a leave or crash needs a member to remove, and
 * the group must never become empty, or the run could not finish.
 */
export function validateScript(steps: readonly ScriptStep[], consumers: number): void {
  let members = consumers
  for (const step of steps) {
    members += step.action === 'join' ? 1 : -1
    if (members < 1) {
      throw new LabConfigError(
        `--script leaves no consumer after ${formatScript([step])} (starting with ${consumers}); add a join or start with more --consumers`,
      )
    }
  }
}
