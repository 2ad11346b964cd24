/**
 * How `baton consume` prints a record: a kcat-style format string or one JSON object per line.
 *
 *   %t topic  %p partition  %o offset  %T timestamp (ms)  %k key  %v value  %h headers (k=v,...)
 *   %K key length  %S value length  %%  and the escapes \n \t \\
 *
 * Keys, values and headers are printed as UTF-8 text; a null key or value prints as empty.
 */
import type { ConsumerRecord } from '../client/index.js'

export const FORMAT_HELP = '%t topic, %p partition, %o offset, %T timestamp, %k key, %v value, %h headers, %K/%S key/value length, \\n \\t'

const text = (b: Buffer | null): string => (b === null ? '' : b.toString('utf8'))

export function formatRecord(format: string, record: ConsumerRecord): string {
  return format.replace(/%[tpoTkvhKS%]|\\[nt\\]/g, (token) => {
    switch (token) {
      case '%t':
        return record.topic
      case '%p':
        return String(record.partition)
      case '%o':
        return record.offset.toString()
      case '%T':
        return String(record.timestamp)
      case '%k':
        return text(record.key)
      case '%v':
        return text(record.value)
      case '%h':
        return record.headers.map((h) => `${h.key}=${text(h.value)}`).join(',')
      case '%K':
        return String(record.key?.length ?? -1)
      case '%S':
        return String(record.value?.length ?? -1)
      case '%%':
        return '%'
      case '\\n':
        return '\n'
      case '\\t':
        return '\t'
      default:
        return '\\'
    }
  })
}

export function recordJson(record: ConsumerRecord): object {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key === null ? null : text(record.key),
    value: record.value === null ? null : text(record.value),
    headers: Object.fromEntries(record.headers.map((h) => [h.key, text(h.value)])),
  }
}
