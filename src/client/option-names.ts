/**
 * Unknown option keys are refused, not ignored: `kafka.sessionTimeout` silently meaning "the
 * default" is how a setting a user believes in never takes effect. The error names the closest
 * valid key, and keys that were renamed name their new home.
 */
import { ConfigError } from './errors.js'

/**
 * Checks a list of option names against its type: `everyKeyOf<ProducerConfig>()([...])` fails to
 * compile, naming what is missing, when the type gains a key the list lacks, so the list that
 * refuses unknown keys cannot fall behind the options it guards.
 */
export function everyKeyOf<T>() {
  return <const Names extends readonly (keyof T & string)[]>(names: Names & (Exclude<keyof T, Names[number]> extends never ? unknown : { missing: Exclude<keyof T, Names[number]> })): Names => names
}

/** The entries of `given` under `names`: a narrower config handed on from a wider one. */
export function pickKeys<T extends object, K extends keyof T & string>(given: T, names: readonly K[]): Pick<T, K> {
  return Object.fromEntries(Object.entries(given).filter(([key]) => (names as readonly string[]).includes(key))) as Pick<T, K>
}

/** Refuses any key of `given` not in `known`, naming the nearest known key. */
export function refuseUnknownKeys(where: string, given: object, known: readonly string[], renamed: Readonly<Record<string, string>> = {}): void {
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue
    const path = where === '' ? key : `${where}.${key}`
    const moved = renamed[key]
    if (moved !== undefined) throw new ConfigError(path, `is not an option here; ${moved}`)
    const nearest = nearestName(key, known)
    const hint = nearest === undefined ? '' : `; did you mean ${where === '' ? nearest : `${where}.${nearest}`}?`
    throw new ConfigError(path, `is not a known option${hint} (known: ${known.join(', ')})`)
  }
}

/** The known name closest to `name` (edit distance, case-insensitive), if any is reasonably close. */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  const lower = name.toLowerCase()
  for (const candidate of known) {
    const c = candidate.toLowerCase()
    // A known name that starts with the given one (sessionTimeout → sessionTimeoutMs) is the likeliest meaning.
    const distance = c.startsWith(lower) || lower.startsWith(c) ? Math.abs(c.length - lower.length) / 4 : editDistance(lower, c)
    if (distance < bestDistance) {
      bestDistance = distance
      best = candidate
    }
  }
  return bestDistance <= Math.max(3, name.length / 3) ? best : undefined
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}
