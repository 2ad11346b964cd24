/**
 * The strategies the lab compares, in the order the table shows them. Each is one module so that
 * a reader can put two side by side and see the code that makes the difference.
 */
import { baton848Strategy, batonStrategy } from './baton.js'
import { commitOnRevoke } from './commit-on-revoke.js'
import { naive } from './naive.js'
import type { Strategy } from './types.js'

export const STRATEGIES: readonly Strategy[] = [
  naive,
  commitOnRevoke,
  batonStrategy,
  baton848Strategy,
  // Slot: `transactional` (consume-transform-produce in Kafka transactions, KIP-447 fencing) and
  // `store` (effect and offset in one database transaction) arrive with the delivery modes of later
  // issues. Each is a module here exporting a Strategy, listed after `baton`.
]

export const STRATEGY_NAMES: readonly string[] = STRATEGIES.map((s) => s.name)

export type { LabMember, LabTimeouts, MemberContext, Strategy } from './types.js'
