/**
 * What the app subscribes to: the topics named in `consume()`, and the topics matching the
 * patterns given instead of a name. Kafka's group protocol takes either a list or one pattern, so
 * with any pattern the whole subscription becomes one pattern: the names matched exactly, the
 * patterns as given (a search, as `RegExp.test` does), and the app's own dead-letter topics never,
 * since a pattern such as /^orders/ would otherwise consume `orders.DLT` and feed failures back in.
 */
/** What this module reads of a route (the processor's `Route`). */
export interface SubscribedRoute {
  readonly topic: string
  readonly pattern?: RegExp | undefined
  readonly config: { readonly deadLetterTopic: string | undefined }
}

/** The list of topic names, or one pattern standing for every route. */
export function subscriptionOf(routes: ReadonlyMap<string, SubscribedRoute>): readonly string[] | RegExp {
  const all = [...routes.values()]
  const patterns = all.flatMap((r) => (r.pattern === undefined ? [] : [r.pattern]))
  const names = all.filter((r) => r.pattern === undefined).map((r) => r.topic)
  if (patterns.length === 0) return names
  const alternatives = [...(names.length === 0 ? [] : [`^(?:${names.map(escape).join('|')})$`]), ...patterns.map((p) => `(?:${p.source})`)]
  const deadLetters = all.flatMap((r) => (r.config.deadLetterTopic === undefined ? [] : [r.config.deadLetterTopic]))
  const exclude = deadLetters.length === 0 ? '' : `(?!(?:${deadLetters.map(escape).join('|')})$)`
  return new RegExp(`^${exclude}(?:${alternatives.join('|')})`)
}

/** The route for a topic: its own by name, else the first pattern (in `consume()` order) that matches it. */
export function routeFor<R extends SubscribedRoute>(routes: ReadonlyMap<string, R>, topic: string): R | undefined {
  const named = routes.get(topic)
  if (named !== undefined && named.pattern === undefined) return named
  for (const route of routes.values()) if (route.pattern?.test(topic) === true) return route
  return undefined
}

/** The map key of a pattern route: never a valid topic name, so it cannot collide with one. */
export function patternKey(pattern: RegExp): string {
  return `/${pattern.source}/`
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
