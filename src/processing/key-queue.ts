/**
 * The queue of one partition in key mode: records wait per key, and only the oldest record of a
 * key with nothing running is ready. Ready records come out lowest offset first, so that the
 * committable offset advances as early as it can.
 *
 * Records without a key promise no order, so each is ready on arrival.
 */
import type { FetchedRecord } from './consumer-port.js'

export interface Ready {
  /** Undefined for a record without a key. */
  readonly key: string | undefined
  readonly record: FetchedRecord
}

export class KeyQueue {
  /** Records waiting, per key; the first of a key that is not busy is also in `ready`. */
  private readonly waiting = new Map<string, FetchedRecord[]>()
  /** Keys with a record taken and not yet finished. */
  private readonly busy = new Set<string>()
  private readonly ready = new ReadyHeap()
  private count = 0

  get size(): number {
    return this.count
  }

  get hasReady(): boolean {
    return this.ready.size > 0
  }

  push(record: FetchedRecord): void {
    this.count++
    // latin1 maps each byte to one char: a cheap, lossless key identity.
    const key = record.key === null ? undefined : record.key.toString('latin1')
    if (key === undefined) {
      this.ready.push({ key, record })
      return
    }
    let queue = this.waiting.get(key)
    if (queue === undefined) this.waiting.set(key, (queue = []))
    queue.push(record)
    if (queue.length === 1 && !this.busy.has(key)) this.ready.push({ key, record })
  }

  /** The ready record with the lowest offset; its key is busy until `finished`. */
  take(): Ready | undefined {
    const next = this.ready.pop()
    if (next === undefined) return undefined
    this.count--
    if (next.key !== undefined) {
      this.waiting.get(next.key)?.shift()
      this.busy.add(next.key)
    }
    return next
  }

  /** The record taken for `key` settled: the key's next record, if any, becomes ready. */
  finished(key: string | undefined): void {
    if (key === undefined) return
    this.busy.delete(key)
    const queue = this.waiting.get(key)
    const head = queue?.[0]
    if (head === undefined) this.waiting.delete(key)
    else this.ready.push({ key, record: head })
  }

  /** Puts taken records back, ahead of their key's others, and finishes the key. */
  putBack(key: string | undefined, records: readonly FetchedRecord[]): void {
    this.count += records.length
    if (key === undefined) {
      for (const record of records) this.ready.push({ key, record })
      return
    }
    const queue = this.waiting.get(key) ?? []
    this.waiting.set(key, [...records, ...queue])
    this.busy.add(key)
    this.finished(key)
  }

  clear(): void {
    this.waiting.clear()
    this.busy.clear()
    this.ready.clear()
    this.count = 0
  }
}

/** A binary min-heap of ready records by offset. */
class ReadyHeap {
  private items: Ready[] = []

  get size(): number {
    return this.items.length
  }

  push(item: Ready): void {
    const items = this.items
    items.push(item)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((items[parent] as Ready).record.offset <= item.record.offset) break
      items[i] = items[parent] as Ready
      i = parent
    }
    items[i] = item
  }

  pop(): Ready | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= items.length) break
      const right = left + 1
      const child = right < items.length && (items[right] as Ready).record.offset < (items[left] as Ready).record.offset ? right : left
      if ((items[child] as Ready).record.offset >= last.record.offset) break
      items[i] = items[child] as Ready
      i = child
    }
    items[i] = last
    return top
  }

  clear(): void {
    this.items = []
  }
}
