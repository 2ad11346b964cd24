/**
 * Invariant: one concept, one declaration. `TopicPartition` and the partition map key are declared
 * once, in src/protocol/topic-partition.ts, and every layer uses that declaration: no layer spells
 * its own copy of the type or builds a partition key by hand.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { readSource, sourceFiles } from './source-graph.js'

const HOME = 'src/protocol/topic-partition.ts'
/** A partition and a topic joined by `@`, `:` or a NUL in a template literal: a map key built by hand. */
const KEY_BY_HAND = /\$\{[^}]*\bpartition(Index)?\}(@|:|\\0|\\u0000)\$\{[^}]*\b(topic|name)\}|\$\{[^}]*\b(topic|name)\}(@|:|\\0|\\u0000)\$\{[^}]*\bpartition(Index)?\}/

/** Where `pattern` occurs in the hand-written sources, as `file:line`. */
function occurrences(pattern: RegExp): string[] {
  const out: string[] = []
  for (const file of sourceFiles()) {
    if (file.startsWith('src/protocol/generated/')) continue
    readSource(file)
      .split('\n')
      .forEach((line, i) => {
        if (pattern.test(line)) out.push(`${file}:${i + 1}`)
      })
  }
  return out
}

describe('one home per concept', () => {
  it('declares TopicPartition once', () => {
    const found = occurrences(/^\s*export\s+(interface\s+TopicPartition\b|type\s+TopicPartition\s*=)/)
    assert.deepEqual(found.map((f) => f.split(':')[0]), [HOME], found.join('\n'))
  })

  it('declares the partition key function once, and builds no key by hand elsewhere', () => {
    const declared = occurrences(/(function\s+|const\s+)(partitionKey|keyOf|tpKey|topicPartitionKey)\s*(\(|=)/)
    assert.ok(declared.length > 0 && declared.every((f) => f.startsWith(`${HOME}:`)), declared.join('\n'))
    const byHand = occurrences(KEY_BY_HAND)
    assert.deepEqual(byHand.filter((f) => !f.startsWith(`${HOME}:`)), [])
  })

  it('recognises the spellings the copies used', () => {
    for (const copy of ['`${tp.partition}@${tp.topic}`', '`${t.name}\\0${p.partitionIndex}`', '`${partition}:${topic}`', '`${o.topic}\\u0000${o.partition}`']) {
      assert.ok(KEY_BY_HAND.test(copy), copy)
    }
    assert.ok(!KEY_BY_HAND.test('`${tp.topic}[${tp.partition}]`'), 'a label for people is not a key')
  })
})
