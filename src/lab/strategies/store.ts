/**
 * `store`: baton with `delivery: 'store'`. The handler's effect is a row written through `ctx.tx`,
 * in the same database transaction as the partition's next offset, which commits only while this
 * member's claim on the partition holds. The lab counts an effect when its row is committed.
 *
 * The crash is the lab's usual one, in this process: the member's consumer goes silent, and its
 * database session with it (every statement refused), so its open transaction rolls back and the
 * partitions' next owner starts from the offset stored with the last committed rows. (The
 * framework's tests kill real processes with SIGKILL, against PostgreSQL and a file-backed PGlite.)
 */
import type { BatonApp } from '../../processing/index.js'
import { CrashableDatabase, EffectRows, openLabDatabase } from '../members/lab-database.js'
import type { Outcome } from '../verify.js'
import { batonMember } from './baton.js'
import { plural } from './explain.js'
import type { MemberContext, RunContext, Strategy, StrategySession } from './types.js'

export const storeStrategy: Strategy = {
  name: 'store',
  summary: "baton with delivery: 'store': each record's row and the partition's offset in one database transaction",
  guarantee: 'exactly-once (DB txn)',
  expectation: { kind: 'exactly-once' },
  explain: (o) => explainStore(o),
  open: (run) => openStore(run),
}

function explainStore(o: Outcome): string {
  const crash =
    o.crashes === 0
      ? 'a crash would roll back the member\'s open transaction, and the next owner would start from the offset stored with the last committed rows'
      : o.inFlightAtCrash === 0
        ? 'the crash caught its member with nothing past its stored offset (on PGlite, partitions wait their turn for the one connection), so it had nothing to roll back'
        : `the crashed member's open transaction (${plural(o.inFlightAtCrash, 'record')} past its stored offset) rolled back, and the next owner started from the offset stored with the last committed rows`
  return `Each row is committed with the partition's offset in one database transaction, or not at all; ${crash}: ${plural(o.duplicated, 'duplicate')}.`
}

async function openStore(run: RunContext): Promise<StrategySession> {
  // A transaction per partition a member holds, and one for the reader.
  const lab = await openLabDatabase(run.store, run.partitions + 2)
  // Names of this run's own: a PostgreSQL database given with --store may serve many runs.
  const suffix = run.runId.replace(/[^a-z0-9]/gi, '_').toLowerCase()
  const offsets = `baton_lab_offsets_${suffix}`
  const rows = new EffectRows(lab.database, `baton_lab_effects_${suffix}`, run.sink, run.onError)
  try {
    await rows.create()
  } catch (error) {
    await lab.close()
    throw error
  }
  return {
    createMember: (context) => {
      const database = new CrashableDatabase(lab.database)
      const member = batonMember(context, {
        protocol: 'cooperative',
        options: { store: { database, table: offsets } },
        consume: (app) => consumeStore(app, context, rows),
      })
      return {
        ...member,
        crash: () => {
          database.crash()
          member.crash()
        },
        committedOffset: async (partition) => {
          const result = await lab.database.query(`SELECT next_offset FROM ${offsets} WHERE group_id = $1 AND topic = $2 AND partition = $3`, [context.groupId, context.topic, partition])
          const stored = result.rows[0]?.next_offset
          // -1: claimed, nothing stored yet. Drivers return int8 as a string (pg) or a number/bigint (PGlite).
          const offset = typeof stored === 'bigint' || typeof stored === 'number' || typeof stored === 'string' ? BigInt(stored) : undefined
          return offset === undefined || offset < 0n ? undefined : offset
        },
      }
    },
    close: async () => {
      try {
        await rows.close()
        // The run's figures are in results.json; a PostgreSQL database given with --store keeps no litter.
        await lab.database.query(`DROP TABLE IF EXISTS ${rows.table}, ${offsets}`)
      } finally {
        await lab.close()
      }
    },
  }
}

function consumeStore(app: BatonApp, context: MemberContext, rows: EffectRows): void {
  app.consume(
    context.topic,
    async (record, ctx) => {
      const id = await context.sink.work(context.consumerId, record.partition, record.offset, record.value, ctx.signal)
      if (id === undefined) return
      await rows.insert(ctx.tx, id, record.partition, record.offset, context.consumerId)
    },
    { delivery: 'store', deadLetter: false },
  )
}
