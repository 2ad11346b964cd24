/**
 * Invariant: librdkafka's KIP-848 consumer (@confluentinc/kafka-javascript, group.protocol=consumer)
 * works against the embedded broker's consumer group coordinator, on 1 and 3 nodes:
 *   - members join and split the partitions; moves are incremental (a member never drops to zero
 *     partitions while another joins, and never revokes all it has to let one in);
 *   - no partition has two owners at any moment, and only a partition's owner reads its records;
 *   - a graceful leave hands its partitions over at the commit: nothing is read twice;
 *   - a crashed member is removed when its session expires and the others take its partitions.
 * Each librdkafka member runs in its own process so that a crash can be a real SIGKILL.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { Producer } from '../../src/client/index.js'
import { crashed, MemberProcess, ownershipViolations, type MemberEvent } from './helpers/member-processes.js'
import { until } from './helpers/until.js'

const PARTITIONS = 6
const RECORDS = 1_200

async function produce(bootstrap: readonly string[], topic: string, from: number, to: number): Promise<void> {
  const producer = new Producer({ bootstrapServers: bootstrap, lingerMs: 2 })
  try {
    await Promise.all(Array.from({ length: to - from }, (_, i) => producer.send({ topic, key: `k${from + i}`, value: String(from + i) })))
  } finally {
    await producer.close()
  }
}

for (const nodes of [1, 3]) {
  describe(`librdkafka KIP-848 consumers against the embedded broker, ${nodes} node(s)`, () => {
    let broker: EmbeddedBroker
    const members: MemberProcess[] = []
    before(async () => {
      broker = await startBroker({ nodes, memory: true, groups: { consumerSessionTimeoutMs: 4000, consumerHeartbeatIntervalMs: 250 } })
    })
    after(async () => {
      await Promise.all(members.map((m) => m.crash()))
      await broker.stop()
    })

    it('join, split, incremental moves, graceful leave without duplicates, crash by session expiry, owners only', async () => {
      const topic = `kip848-${nodes}`
      const groupId = `kip848-group-${nodes}`
      broker.createTopic(topic, { partitions: PARTITIONS })
      const bootstrap = broker.bootstrap.join(',')
      const log: MemberEvent[] = []
      const read = (): Map<string, string[]> => {
        const seen = new Map<string, string[]>()
        for (const e of log) if (e.ev === 'data') seen.set(e.value!, [...(seen.get(e.value!) ?? []), e.member])
        return seen
      }
      const start = (name: string): MemberProcess => {
        const m = new MemberProcess(name, bootstrap, groupId, topic, log)
        members.push(m)
        return m
      }
      await produce(broker.bootstrap, topic, 0, RECORDS / 2)

      const a = start('a')
      await until('a to own every partition', () => a.owned.size === PARTITIONS, 60_000)
      const b = start('b')
      await until('a and b to split the partitions', () => a.owned.size === 3 && b.owned.size === 3, 60_000)
      const c = start('c')
      await until('a, b and c to own two each', () => a.owned.size === 2 && b.owned.size === 2 && c.owned.size === 2, 60_000)
      await until('every record so far', () => read().size === RECORDS / 2, 60_000)

      // Incremental: after its first assignment a always owned something, and never revoked all of it at once.
      let aOwned = 0
      for (const e of log.filter((x) => x.member === 'a')) {
        if (e.ev === 'assign') aOwned += e.partitions!.length
        if (e.ev === 'revoke') {
          assert.ok(e.partitions!.length < aOwned, `a revoked ${e.partitions!.length} of its ${aOwned} partitions at once`)
          aOwned -= e.partitions!.length
        }
      }

      await c.stop()
      await until('a and b to take c back', () => a.owned.size + b.owned.size === PARTITIONS, 60_000)
      await produce(broker.bootstrap, topic, RECORDS / 2, RECORDS)
      await until('every record', () => read().size === RECORDS, 60_000)
      const twice = [...read()].filter(([, by]) => by.length > 1)
      assert.deepEqual(twice, [], 'no record read twice across graceful changes')

      const bHad = [...b.owned]
      await b.crash()
      crashed(log, 'b', bHad)
      await until('a to take b\'s partitions after its session expires', () => a.owned.size === PARTITIONS, 60_000)
      assert.deepEqual(ownershipViolations(log), [])
      assert.deepEqual(log.filter((e) => e.ev === 'error').map((e) => `${e.member}: ${e.message}`), [])
      await a.stop()
    })
  })
}
