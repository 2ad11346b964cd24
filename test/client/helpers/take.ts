import type { Consumer, ConsumerRecord } from '../../../src/client/consumer/consumer.js'

/** Reads `count` records from a consumer, failing with how many arrived if they take over `timeoutMs`. */
export async function take(consumer: Consumer, count: number, timeoutMs = 10_000): Promise<ConsumerRecord[]> {
  const records: ConsumerRecord[] = []
  if (count === 0) return records
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`only ${records.length} of ${count} records within ${timeoutMs} ms`)), timeoutMs)
  })
  const reading = (async () => {
    for await (const record of consumer) {
      records.push(record)
      if (records.length >= count) break
    }
    return records
  })()
  try {
    return await Promise.race([reading, timeout])
  } finally {
    clearTimeout(timer)
  }
}
