/**
 * Accounts for every record of a chaos run from its effects: a record is lost when no member ever
 * had its effect, duplicated when more than one did (or one did twice). In at-least-once the
 * effects are the members' effect lines; in the exactly-once modes they are the durable outcomes
 * (outcomes.ts), and the effect lines only count handler runs, redone ones included.
 *
 * Each effect beyond a record's first must be explained by something that happened between an
 * earlier effect of that record and it, to the member that had the earlier one:
 *   - `sigkill`: the member was SIGKILLed (it could not commit what it had done);
 *   - `session-loss`: the member lost the partition (onLost: session expired, fenced), which
 *     commits nothing by design;
 *   - `zombie`: the member was frozen (SIGSTOP) past its session after the earlier effect, or one
 *     of the two effects is a woken zombie's, from work it had under way (a handler woken with it
 *     may finish just after onLost told it of the loss: its outcome is dropped, its line written);
 *   - `commit-failed`: a graceful revocation whose commit failed (reported, but not one of the
 *     causes at-least-once may blame).
 * A duplicate no such event explains is the hand-off failing its promise.
 */
import type { MemberEvent } from './events.js'
import type { Outcome } from './outcomes.js'

export type Explanation = 'sigkill' | 'session-loss' | 'zombie' | 'commit-failed' | 'unexplained'

export interface EffectSeen {
  readonly member: string
  readonly t: number
  readonly offset: number
}

export interface DuplicateRecord {
  readonly id: number
  readonly partition: number
  /** Every effect of the record, in time order. */
  readonly effects: readonly EffectSeen[]
  /** The worst explanation among its extra effects (unexplained beats commit-failed beats the rest). */
  readonly explanation: Explanation
  /** What explains each extra effect, e.g. "m3 SIGKILLed at +12.4 s". */
  readonly because: readonly string[]
}

export interface ChaosAccount {
  readonly produced: number
  readonly processed: number
  readonly lost: readonly number[]
  readonly duplicates: readonly DuplicateRecord[]
  readonly extraEffects: number
  readonly byExplanation: Readonly<Record<Explanation, number>>
  /** What the effects above were counted from. */
  readonly countedFrom: 'effect lines' | 'outcomes'
  /** Handler runs that completed (the members' effect lines). */
  readonly handlerRuns: number
  /**
   * The runs beyond a record's first, by the worst explanation of each record's repeats. In
   * at-least-once these are the duplicates above; in the exactly-once modes, work redone whose
   * earlier outcome never counted (expected after a SIGKILL or a session loss, not after a
   * graceful hand-off).
   */
  readonly redone: {
    readonly records: number
    readonly runs: number
    readonly byExplanation: Readonly<Record<Explanation, number>>
    /** The redone records neither a SIGKILL nor a session loss explains, for the report. */
    readonly unexplained: readonly DuplicateRecord[]
  }
}

export interface AccountingInput {
  /** Ids of every record the broker acknowledged. */
  readonly produced: ReadonlySet<number>
  /** Each member's events, by member name. */
  readonly events: ReadonlyMap<string, readonly MemberEvent[]>
  /** When each SIGKILLed member was sent the signal (ms since the epoch). */
  readonly killedAt: ReadonlyMap<string, number>
  /** When each zombie was frozen (SIGSTOP) and woken (SIGCONT; undefined if never). */
  readonly frozen?: ReadonlyMap<string, readonly { readonly from: number; readonly to: number | undefined }[]>
  /** Times in `because` are shown relative to this. */
  readonly startedAt: number
  /** The exactly-once modes' durable outcomes: when given, the effects counted are these. */
  readonly outcomes?: readonly Outcome[]
}

const RANK: Record<Explanation, number> = { sigkill: 0, 'session-loss': 0, zombie: 0, 'commit-failed': 1, unexplained: 2 }

type Effects = Map<number, { partition: number; seen: EffectSeen[] }>

function addEffect(effects: Effects, id: number, partition: number, seen: EffectSeen): void {
  let entry = effects.get(id)
  if (entry === undefined) effects.set(id, (entry = { partition, seen: [] }))
  entry.seen.push(seen)
}

export function account(input: AccountingInput): ChaosAccount {
  // The members' effect lines: every handler run that completed.
  const runs: Effects = new Map()
  const losses = new Map<string, { t: number; ps: readonly number[]; commitFailed: boolean }[]>()
  for (const [member, list] of input.events) {
    const endings: { t: number; ps: readonly number[]; commitFailed: boolean }[] = []
    for (const event of list) {
      if (event.e === 'effect') addEffect(runs, event.id, event.p, { member, t: event.t, offset: event.o })
      else if (event.e === 'lost') endings.push({ t: event.t, ps: event.ps, commitFailed: false })
      else if (event.e === 'revoked' && event.commitFailed) endings.push({ t: event.t, ps: event.ps, commitFailed: true })
    }
    losses.set(member, endings)
  }
  let effects = runs
  if (input.outcomes !== undefined) {
    effects = new Map()
    for (const o of input.outcomes) addEffect(effects, o.id, o.partition, { member: o.member, t: o.t, offset: o.offset })
  }
  const at = (t: number): string => `+${((t - input.startedAt) / 1000).toFixed(1)} s`

  /** The member's assignments, each a fresh start after a zombie's wake-up. */
  const assignedAt = (member: string): number[] => (input.events.get(member) ?? []).filter((e) => e.e === 'assigned').map((e) => e.t)
  /** When `member` had been woken from a freeze before `t` and assigned nothing since: its run at `t` is work it had under way. */
  const wokenAt = (member: string, t: number): number | undefined => {
    for (const freeze of input.frozen?.get(member) ?? []) {
      const woken = freeze.to
      if (woken === undefined || woken > t) continue
      if (!assignedAt(member).some((a) => a >= woken && a <= t)) return woken
    }
    return undefined
  }
  const explain = (earlier: EffectSeen, later: EffectSeen, partition: number): [Explanation, string] => {
    const killed = input.killedAt.get(earlier.member)
    if (killed !== undefined && killed <= later.t) return ['sigkill', `${earlier.member} SIGKILLed at ${at(killed)}`]
    for (const freeze of input.frozen?.get(earlier.member) ?? []) {
      if (freeze.from >= earlier.t && freeze.from <= later.t) return ['zombie', `${earlier.member} frozen (SIGSTOP) at ${at(freeze.from)}, past its session`]
    }
    for (const effect of [earlier, later]) {
      const woken = wokenAt(effect.member, effect.t)
      if (woken !== undefined) return ['zombie', `${effect.member} woken at ${at(woken)} after its session expired, finishing work it had under way`]
    }
    for (const ending of losses.get(earlier.member) ?? []) {
      if (ending.t < earlier.t || ending.t > later.t || !ending.ps.includes(partition)) continue
      return ending.commitFailed
        ? ['commit-failed', `${earlier.member}'s commit on revoking partition ${partition} failed at ${at(ending.t)}`]
        : ['session-loss', `${earlier.member} lost partition ${partition} at ${at(ending.t)}`]
    }
    return ['unexplained', `nothing explains ${later.member} redoing what ${earlier.member} did at ${at(earlier.t)}`]
  }

  const repeats = (of: Effects): Repeats => {
    const duplicates: DuplicateRecord[] = []
    const byExplanation: Record<Explanation, number> = { sigkill: 0, 'session-loss': 0, zombie: 0, 'commit-failed': 0, unexplained: 0 }
    let extra = 0
    for (const [id, { partition, seen }] of of) {
      if (seen.length < 2) continue
      seen.sort((a, b) => a.t - b.t)
      extra += seen.length - 1
      let worst: Explanation | undefined
      const because: string[] = []
      for (let i = 1; i < seen.length; i++) {
        // The best explanation any earlier effect offers for this one.
        let best: [Explanation, string] | undefined
        for (let j = 0; j < i; j++) {
          const candidate = explain(seen[j]!, seen[i]!, partition)
          if (best === undefined || RANK[candidate[0]] < RANK[best[0]]) best = candidate
        }
        because.push(best![1])
        if (worst === undefined || RANK[best![0]] > RANK[worst]) worst = best![0]
      }
      byExplanation[worst!]++
      duplicates.push({ id, partition, effects: seen, explanation: worst!, because })
    }
    duplicates.sort((a, b) => a.id - b.id)
    return { duplicates, extra, byExplanation }
  }

  const counted = repeats(effects)
  const ran = effects === runs ? counted : repeats(runs)
  const lost = [...input.produced].filter((id) => !effects.has(id)).sort((a, b) => a - b)
  let handlerRuns = 0
  for (const { seen } of runs.values()) handlerRuns += seen.length
  return {
    produced: input.produced.size,
    processed: effects.size,
    lost,
    duplicates: counted.duplicates,
    extraEffects: counted.extra,
    byExplanation: counted.byExplanation,
    countedFrom: input.outcomes === undefined ? 'effect lines' : 'outcomes',
    handlerRuns,
    redone: {
      records: ran.duplicates.length,
      runs: ran.extra,
      byExplanation: ran.byExplanation,
      unexplained: ran.duplicates.filter((d) => RANK[d.explanation] > 0),
    },
  }
}

interface Repeats {
  readonly duplicates: DuplicateRecord[]
  readonly extra: number
  readonly byExplanation: Record<Explanation, number>
}
