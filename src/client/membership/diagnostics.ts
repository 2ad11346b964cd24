/**
 * Membership events on `node:diagnostics_channel`, for metrics and tracing of rebalances: every
 * state change, with the generation and partitions owned at that moment.
 *
 * ```ts
 * import diagnostics from 'node:diagnostics_channel'
 * diagnostics.subscribe('baton:group:state', (message) => { const e = message as GroupStateEvent; ... })
 * ```
 */
import diagnostics from 'node:diagnostics_channel'
import type { MemberState } from './state.js'

export const GROUP_STATE_CHANNEL = 'baton:group:state'

export interface GroupStateEvent {
  readonly groupId: string
  readonly memberId: string
  readonly generationId: number
  readonly from: MemberState
  readonly to: MemberState
  /** Partitions owned when the state changed. */
  readonly owned: number
}

export const groupStateChannel = diagnostics.channel(GROUP_STATE_CHANNEL)
