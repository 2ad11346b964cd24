/**
 * What transactional-mode tests read back: a topic's records as a read_committed (or
 * read_uncommitted) reader sees them, across its partitions, and a bounded wait.
 */
import type { EmbeddedBroker } from '../../../../src/broker/index.js'
import { readValues, type Isolation } from '../../../broker/transactions/helpers.js'

export async function readTopic(broker: EmbeddedBroker, topic: string, partitions: number, isolation: Isolation): Promise<string[]> {
  const values: string[] = []
  for (let p = 0; p < partitions; p++) values.push(...(await readValues(broker, topic, p, isolation)))
  return values
}

/** Polls `check` until it holds, failing after `timeoutMs` with `what`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The inputs (`<partition>:<offset>`) of outputs written as `<partition>:<offset>@...`, with how often each appears. */
export function countByInput(outputs: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const value of outputs) {
    const input = value.split('@')[0] as string
    counts.set(input, (counts.get(input) ?? 0) + 1)
  }
  return counts
}
