/**
 * Exponential backoff with jitter, the shape Kafka's clients use for reconnects and retries
 * (KIP-144, KIP-580): the delay doubles per failure up to a cap, and each delay is spread by
 * ±20 % so that many clients losing the same broker do not come back in lockstep.
 */
export interface BackoffOptions {
  initialMs: number
  maxMs: number
  /** Fraction of the delay to spread it by; 0.2 means ±20 %. */
  jitter?: number
  /** Source of randomness in [0, 1); injectable so tests can pin it. */
  random?: () => number
}

/** Delay before attempt number `failures + 1`, after `failures` consecutive failures (≥ 1). */
export function backoffDelay(failures: number, options: BackoffOptions): number {
  if (failures <= 0) return 0
  const jitter = options.jitter ?? 0.2
  const random = options.random ?? Math.random
  const exponential = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(failures - 1, 30))
  const spread = exponential * jitter * (2 * random() - 1)
  return Math.max(0, Math.round(Math.min(options.maxMs, exponential + spread)))
}
