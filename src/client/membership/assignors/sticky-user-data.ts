/**
 * User data of the sticky assignors, byte-compatible with Kafka's Java client and librdkafka.
 *
 * `sticky` (eager): members revoke everything before joining, so the subscription's owned partitions
 * are empty and the previous assignment travels in user data instead (KIP-54), followed by the
 * generation it belonged to (KIP-341). No version prefix; readers try the layout with the generation
 * first and fall back to the one without:
 *   [topic: string, partitions: [int32]] generation: int32
 *
 * `cooperative-sticky`: owned partitions and generation travel in the subscription itself (v1, v2).
 * The Java client also writes the generation alone as user data (one int32) for coordinators of
 * subscription v1; librdkafka writes the sticky layout above for both assignors. We write Java's
 * form and read either.
 */
import { DecodeError } from '../../../protocol/errors/base.js'
import { Reader } from '../../../protocol/primitives/reader.js'
import { Writer } from '../../../protocol/primitives/writer.js'
import type { TopicPartitions } from '../topic-partitions.js'

export interface StickyUserData {
  previousAssignment: TopicPartitions[]
  /** -1 when the sender used the layout without a generation. */
  generationId: number
}

export function encodeStickyUserData(data: StickyUserData): Buffer {
  const w = new Writer(64)
  w.int32(data.previousAssignment.length)
  for (const { topic, partitions } of data.previousAssignment) {
    w.string(topic)
    w.int32(partitions.length)
    for (const p of partitions) w.int32(p)
  }
  w.int32(data.generationId)
  return w.finish()
}

/** Returns null for bytes in neither layout: a member whose user data we cannot read is treated as owning nothing. */
export function decodeStickyUserData(bytes: Buffer): StickyUserData | null {
  try {
    const r = new Reader(bytes)
    const count = r.int32()
    if (count < 0) return null
    const previousAssignment: TopicPartitions[] = []
    for (let i = 0; i < count; i++) {
      const topic = r.string()
      const n = r.int32()
      if (n < 0 || n * 4 > r.remaining) return null
      const partitions: number[] = []
      for (let j = 0; j < n; j++) partitions.push(r.int32())
      previousAssignment.push({ topic, partitions })
    }
    if (r.remaining === 0) return { previousAssignment, generationId: -1 }
    const generationId = r.int32()
    return r.remaining === 0 ? { previousAssignment, generationId } : null
  } catch (err) {
    if (err instanceof DecodeError) return null
    throw err
  }
}

export function encodeCooperativeUserData(generationId: number): Buffer {
  return new Writer(4).int32(generationId).finish()
}

/** The generation in a cooperative-sticky member's user data, in Java's or librdkafka's layout; -1 if neither. */
export function decodeCooperativeGeneration(bytes: Buffer): number {
  if (bytes.length === 4) return bytes.readInt32BE(0)
  return decodeStickyUserData(bytes)?.generationId ?? -1
}
