/** Waiting with a deadline: the hand-off's drain, a seek's wait for the handlers it overtook, the stop's close. */

/** True if `promise` settled within `ms`; the timer is cleared either way. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([promise.then(() => true as const), deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** Partitions as log lines name them: `orders[3]`. */
export function describePartitions(partitions: readonly { readonly topic: string; readonly partition: number }[]): string[] {
  return partitions.map((tp) => `${tp.topic}[${tp.partition}]`)
}
