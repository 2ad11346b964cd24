/**
 * The strategies the lab compares, in the order the table shows them. Each is one module so that
 * a reader can put two side by side and see the code that makes the difference.
 */
import { baton848Strategy, batonStrategy } from './baton.js'
import { commitOnRevoke } from './commit-on-revoke.js'
import { naive } from './naive.js'
import { storeStrategy } from './store.js'
import { transactionalStrategy } from './transactional.js'
import type { Strategy } from './types.js'

export const STRATEGIES: readonly Strategy[] = [
  naive,
  commitOnRevoke,
  batonStrategy,
  baton848Strategy,
  transactionalStrategy,
  storeStrategy,
]

export const STRATEGY_NAMES: readonly string[] = STRATEGIES.map((s) => s.name)

export type { LabMember, LabTimeouts, MemberContext, RunContext, Strategy, StrategySession } from './types.js'
