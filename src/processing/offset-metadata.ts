/**
 * The offsets already done above a commit point, carried in the commit's metadata string.
 *
 * A commit is one offset per partition, the lowest record not done, but in `key` mode records of a
 * partition finish out of order, so records above the commit point may be done too. Kafka stores a
 * free-form metadata string with each committed offset (OffsetCommit's `committed_metadata`) and
 * returns it with the offset in OffsetFetch, which is what a new owner reads when it is assigned
 * the partition. Writing the done ranges there lets the next owner skip them instead of running
 * them a second time, at no cost of extra requests or topics.
 *
 * Format: `baton.done.1:` then base64url (unpadded) of unsigned LEB128 varints: the commit offset,
 * then for each range (from - cursor) and (to - from - 1).
 * - The marker names the writer and a version: metadata written by other clients (or a future,
 *   different layout) decodes to no ranges, which only means those records run again.
 * - The commit offset is repeated inside, and decoding for any other offset yields nothing: the
 *   metadata could outlive its offset (a tool resetting offsets but copying the metadata), and
 *   reading it against another offset would skip records never processed. Skipping is the one
 *   mistake this must never make; redoing is always safe.
 * - The cursor starts at commitOffset + 1 (the commit offset itself is by definition not done) and
 *   moves to `to + 1` after each range (ranges are never adjacent), and a length is stored minus
 *   one: every gap and length is >= 0, so no byte string can spell an empty, overlapping, adjacent
 *   or descending range, and a decoder has fewer cases to reject.
 * - base64url is ASCII, so its length in characters is its length in UTF-8 bytes, which is what
 *   the broker measures against `offset.metadata.max.bytes` (Kafka's default 4096); above it the
 *   whole OffsetCommit is refused with OFFSET_METADATA_TOO_LARGE, so the encoder drops ranges
 *   rather than risk that.
 */

/** A half-open range [from, to) of offsets already processed, above a commit point. */
export type OffsetRange = readonly [from: bigint, to: bigint]

const MARKER = 'baton.done.1:'
/** Headroom under Kafka's default offset.metadata.max.bytes (4096), for brokers configured lower or other metadata. */
export const DEFAULT_METADATA_BYTES = 3072
/** Kafka offsets are int64; nothing above this can be an offset. */
const INT64_MAX = (1n << 63n) - 1n
/** 9 × 7 bits = 63: a varint longer than this cannot be a non-negative int64. */
const MAX_VARINT_BYTES = 9
const BASE64URL = /^[A-Za-z0-9_-]*$/

/**
 * Encodes ascending, disjoint, non-adjacent ranges, all above commitOffset, into a commit metadata
 * string; '' when there are none. When the encoding would exceed maxBytes, keeps the longest prefix
 * of whole ranges that fits (dropping ranges is always safe: those records are just processed
 * again).
 * @throws RangeError for a negative commit offset or maxBytes, or ranges that are empty,
 * unordered, overlapping, adjacent, at or below commitOffset or beyond int64: a caller bug.
 */
export function encodeDoneRanges(commitOffset: bigint, ranges: readonly OffsetRange[], maxBytes: number = DEFAULT_METADATA_BYTES): string {
  checkOffset('commitOffset', commitOffset)
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be an integer >= 0, got ${maxBytes}`)
  if (ranges.length === 0) return ''
  const bytes: number[] = []
  writeVarint(bytes, commitOffset)
  let cursor = commitOffset + 1n
  let kept = 0
  let keptBytes = 0
  for (const [i, range] of ranges.entries()) {
    const [from, to] = range
    checkOffset(`ranges[${i}] from`, from)
    checkOffset(`ranges[${i}] to`, to)
    if (from < cursor) {
      const rule = i === 0 ? `start above the commit offset ${commitOffset}` : `be ascending, disjoint and non-adjacent (previous ends at ${cursor - 1n})`
      throw new RangeError(`ranges[${i}] [${from}, ${to}) is invalid: ranges must ${rule}`)
    }
    if (to <= from) throw new RangeError(`ranges[${i}] [${from}, ${to}) is empty or reversed`)
    writeVarint(bytes, from - cursor)
    writeVarint(bytes, to - from - 1n)
    cursor = to + 1n
    // Every range is validated even once the limit is reached: a bad input is a bug to report, not to hide.
    if (kept === i && MARKER.length + base64Length(bytes.length) <= maxBytes) {
      kept = i + 1
      keptBytes = bytes.length
    }
  }
  if (kept === 0) return ''
  return MARKER + Buffer.from(bytes.slice(0, keptBytes)).toString('base64url')
}

/**
 * The ranges from a metadata string written by encodeDoneRanges for the same commitOffset; [] for
 * null, '', metadata written by other clients, or anything malformed. Never throws.
 */
export function decodeDoneRanges(commitOffset: bigint, metadata: string | null): OffsetRange[] {
  if (metadata === null || !metadata.startsWith(MARKER)) return []
  if (typeof commitOffset !== 'bigint' || commitOffset < 0n || commitOffset > INT64_MAX) return []
  const payload = metadata.slice(MARKER.length)
  if (!BASE64URL.test(payload)) return []
  const bytes = Buffer.from(payload, 'base64url')
  // Node's decoder ignores stray bits and characters; only the one canonical spelling is accepted.
  if (bytes.toString('base64url') !== payload) return []
  const anchor = readVarint(bytes, 0)
  if (anchor === undefined || anchor.value !== commitOffset) return []
  const ranges: OffsetRange[] = []
  let at = anchor.next
  let cursor = commitOffset + 1n
  while (at < bytes.length) {
    const gap = readVarint(bytes, at)
    if (gap === undefined) return []
    const length = readVarint(bytes, gap.next)
    if (length === undefined) return []
    const from = cursor + gap.value
    const to = from + length.value + 1n
    if (to > INT64_MAX) return []
    ranges.push([from, to])
    cursor = to + 1n
    at = length.next
  }
  return ranges
}

function checkOffset(what: string, value: bigint): void {
  if (typeof value !== 'bigint' || value < 0n || value > INT64_MAX) throw new RangeError(`${what} must be a bigint in [0, 2^63 - 1], got ${String(value)}`)
}

function base64Length(byteCount: number): number {
  return Math.ceil((byteCount * 4) / 3)
}

function writeVarint(out: number[], value: bigint): void {
  let rest = value
  while (rest >= 0x80n) {
    out.push(Number(rest & 0x7fn) | 0x80)
    rest >>= 7n
  }
  out.push(Number(rest))
}

/** One varint at `at`; undefined when truncated, longer than 63 bits, or not in its shortest form. */
function readVarint(bytes: Buffer, at: number): { value: bigint; next: number } | undefined {
  let value = 0n
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const byte = bytes[at + i]
    if (byte === undefined) return undefined
    value |= BigInt(byte & 0x7f) << BigInt(7 * i)
    if ((byte & 0x80) === 0) return byte === 0 && i > 0 ? undefined : { value, next: at + i + 1 }
  }
  return undefined
}
