/**
 * Turns an observation into the figures the lab reports. Everything is counted from effects, not
 * from log lines: a record is processed when its effect is in the sink, duplicated when it is
 * there more than once, lost when it never is.
 */
import type { Observation } from './observation.js'

export interface Outcome {
  strategy: string
  produced: number
  processed: number
  lost: number
  /** Records whose effect happened more than once. */
  duplicated: number
  /** Effects beyond the first, summed over duplicated records. */
  extraEffects: number
  /** Duplicated records with an effect by a member that crashed: the duplicates no hand-off can prevent. */
  duplicatedAfterCrash: number
  /** Members the script crashed. */
  crashes: number
  /** Records in flight on crashed members when they died. */
  inFlightAtCrash: number
  rebalances: number
  rebalanceMs: number[]
  longestPartitionPauseMs: number
  recordsPerSecond: number
  durationMs: number
  lostRecordIds: number[]
}

export function summarize(observation: Observation, produced = observation.produced): Outcome {
  const effectsOf = new Map<number, { consumerId: string; atMs: number }[]>()
  for (const effect of observation.effects) {
    let list = effectsOf.get(effect.recordId)
    if (!list) effectsOf.set(effect.recordId, (list = []))
    list.push({ consumerId: effect.consumerId, atMs: effect.atMs })
  }
  const crashedAt = new Map(observation.crashes.map((c) => [c.consumerId, c.atMs]))
  let duplicated = 0
  let extraEffects = 0
  let duplicatedAfterCrash = 0
  for (const list of effectsOf.values()) {
    if (list.length < 2) continue
    duplicated++
    extraEffects += list.length - 1
    if (causedByCrash(list, crashedAt)) duplicatedAfterCrash++
  }
  const lostRecordIds: number[] = []
  for (let id = 0; id < produced; id++) if (!effectsOf.has(id)) lostRecordIds.push(id)
  const durationMs = Math.max(1, observation.endMs - observation.startMs)
  return {
    strategy: observation.strategy,
    produced,
    processed: effectsOf.size,
    lost: lostRecordIds.length,
    duplicated,
    extraEffects,
    duplicatedAfterCrash,
    crashes: observation.crashes.length,
    inFlightAtCrash: observation.crashes.reduce((sum, c) => sum + c.inFlight, 0),
    rebalances: observation.rebalances.length,
    rebalanceMs: observation.rebalances.map((r) => r.endMs - r.startMs),
    longestPartitionPauseMs: longestPause(observation),
    recordsPerSecond: Math.round((effectsOf.size / durationMs) * 1000),
    durationMs,
    lostRecordIds,
  }
}

/**
 * A duplicate the crash explains: the record took effect in a member before that member crashed,
 * and took effect again after the crash. Duplicates a crashed member took part in earlier, during
 * graceful rebalances, are not the crash's.
 */
function causedByCrash(effects: readonly { consumerId: string; atMs: number }[], crashedAt: ReadonlyMap<string, number>): boolean {
  return effects.some((e) => {
    const crash = crashedAt.get(e.consumerId)
    return crash !== undefined && e.atMs <= crash && effects.some((later) => later.atMs > crash)
  })
}

/**
 * The longest stretch in which a partition that still had work saw no effect: from the start of
 * consumption to its first effect, and between consecutive effects. Idle time after a partition's
 * last record is not a pause.
 */
function longestPause(observation: Observation): number {
  const times = new Map<number, number[]>()
  for (const e of observation.effects) {
    let list = times.get(e.partition)
    if (!list) times.set(e.partition, (list = []))
    list.push(e.atMs)
  }
  let longest = 0
  for (const list of times.values()) {
    list.sort((a, b) => a - b)
    let previous = observation.startMs
    for (const t of list) {
      longest = Math.max(longest, t - previous)
      previous = t
    }
  }
  return longest
}
