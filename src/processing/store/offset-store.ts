/**
 * The offsets of store mode, kept in the user's database beside the effects, in one table:
 *
 *   (group_id, topic, partition) → next_offset, owner_generation, owner_token
 *
 * Fencing works by claims. A member that is assigned a partition first claims it: it writes its
 * generation (or KIP-848 member epoch, both grow with every reassignment) and a fresh token, and
 * the claim is refused when the row already carries a later generation. Every batch then commits
 * its effects and the new next offset in one transaction whose offset update only matches the row
 * if the token is still this claim's and the offset is still the one this member last wrote. A
 * zombie (a member whose generation moved on and that does not know it yet) therefore fails its
 * update, and its whole transaction, effects included, rolls back.
 *
 * Why it holds under concurrency (PostgreSQL, READ COMMITTED): both the claim (an upsert) and the
 * offset update lock the row. When the zombie's update comes first, the claim waits for the
 * zombie's commit and then reads the offset it wrote, so the new owner starts after those records.
 * When the claim comes first, the zombie's update re-reads the row after the claim's commit, sees
 * another token and matches nothing. The offset update is the transaction's last statement, so the
 * row stays locked only for the commit itself; a zombie frozen earlier holds no lock on it, and
 * one frozen after it is cut off by the idle-in-transaction timeout.
 */
import { randomUUID } from 'node:crypto'
import { ConfigError } from '../../client/index.js'
import type { TopicPartition } from '../consumer-port.js'
import { StoreFencedError, type StoredClaim } from './errors.js'
import { ensureTable, toBigInt, type SqlDatabase, type SqlRow, type SqlTransaction } from './sql.js'

export interface OffsetStoreOptions {
  readonly database: SqlDatabase
  /** The table that holds the offsets; created if missing. Default `baton_offsets`. */
  readonly table?: string
  /**
   * How long a transaction may stay open while its member does nothing before the database ends
   * it (PostgreSQL's idle_in_transaction_session_timeout). Default 60 000 ms.
   */
  readonly idleTimeoutMs?: number
}

/** A partition this member claimed: where to start, and the token its commits must present. */
export interface PartitionClaim extends TopicPartition {
  readonly groupId: string
  readonly generation: number
  readonly token: string
  /** The next offset to process as the store has it; null when the store has none yet. */
  readonly nextOffset: bigint | null
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/

export class OffsetStore {
  private readonly database: SqlDatabase
  private readonly table: string
  private readonly idleTimeoutMs: number

  constructor(options: OffsetStoreOptions) {
    const table = options.table ?? 'baton_offsets'
    if (!IDENTIFIER.test(table)) {
      throw new ConfigError('store.table', `("${table}") must be a plain SQL identifier, optionally schema-qualified (letters, digits, underscores)`)
    }
    const idle = options.idleTimeoutMs ?? 60_000
    if (!Number.isInteger(idle) || idle < 1) throw new ConfigError('store.idleTimeoutMs', `(${idle}) must be a positive integer of milliseconds`)
    this.database = options.database
    this.table = table
    this.idleTimeoutMs = idle
  }

  async ensureSchema(): Promise<void> {
    await ensureTable(this.database, this.table, [
      'group_id text NOT NULL',
      'topic text NOT NULL',
      'partition integer NOT NULL',
      'next_offset bigint NOT NULL',
      'owner_generation integer NOT NULL',
      'owner_token text NOT NULL',
      'updated_at timestamptz NOT NULL DEFAULT now()',
      'PRIMARY KEY (group_id, topic, partition)',
    ])
  }

  /**
   * Claims partitions for `generation`. Refused (StoreFencedError) for a partition whose row
   * already carries a later generation: this member's assignment is stale.
   */
  async claim(groupId: string, partitions: readonly TopicPartition[], generation: number): Promise<PartitionClaim[]> {
    const token = randomUUID()
    return this.database.transaction(async (tx) => {
      const claims: PartitionClaim[] = []
      for (const tp of partitions) {
        // next_offset -1 marks a row claimed before anything was stored for it.
        const result = await tx.query(
          `INSERT INTO ${this.table} AS t (group_id, topic, partition, next_offset, owner_generation, owner_token)
           VALUES ($1, $2, $3, -1, $4, $5)
           ON CONFLICT (group_id, topic, partition) DO UPDATE
             SET owner_generation = EXCLUDED.owner_generation, owner_token = EXCLUDED.owner_token, updated_at = now()
             WHERE t.owner_generation <= EXCLUDED.owner_generation
           RETURNING next_offset`,
          [groupId, tp.topic, tp.partition, generation, token],
        )
        const row = result.rows[0]
        if (row === undefined) {
          const held = await tx.query(`SELECT next_offset, owner_generation, owner_token FROM ${this.table} WHERE group_id = $1 AND topic = $2 AND partition = $3`, [groupId, tp.topic, tp.partition])
          const holder = held.rows[0]
          const heldBy = holder === undefined ? undefined : storedClaim(holder)
          throw new StoreFencedError(tp.topic, tp.partition, `a member of a later generation (${heldBy?.generation ?? 'unknown'}) than ${generation} claimed it`, heldBy)
        }
        const stored = toBigInt(row.next_offset)
        claims.push({ groupId, topic: tp.topic, partition: tp.partition, generation, token, nextOffset: stored < 0n ? null : stored })
      }
      return claims
    }, this.idleTimeoutMs)
  }

  /**
   * Claims a partition whose row a later generation holds, for a member that has made sure that
   * generation is gone: its group started over at a lower one (deleted, or expired on the
   * cluster), which the coordinator showed by accepting a commit under this member's generation.
   * Only the claim seen then is taken over (`from`'s token): should another member have claimed the
   * partition since, the take-over is refused like a stale claim.
   */
  async takeOver(groupId: string, partition: TopicPartition, generation: number, from: StoredClaim): Promise<PartitionClaim> {
    const token = randomUUID()
    const result = await this.database.query(
      `UPDATE ${this.table} SET owner_generation = $1, owner_token = $2, updated_at = now()
       WHERE group_id = $3 AND topic = $4 AND partition = $5 AND owner_token = $6
       RETURNING next_offset`,
      [generation, token, groupId, partition.topic, partition.partition, from.token],
    )
    const row = result.rows[0]
    if (row === undefined) throw new StoreFencedError(partition.topic, partition.partition, `another member claimed it while generation ${generation} was taking over the claim of generation ${from.generation}`)
    const stored = toBigInt(row.next_offset)
    return { groupId, topic: partition.topic, partition: partition.partition, generation, token, nextOffset: stored < 0n ? null : stored }
  }

  /**
   * Runs `work` and moves the partition's stored offset from `claim`'s (or the last commit's) to
   * `nextOffset`, in one transaction. Resolves with the claim to use for the next commit. Throws
   * StoreFencedError, with everything rolled back, when the claim is no longer the partition's.
   * `nextOffset` may be a function of `work`'s result, for a transaction that learns how far it
   * got only once its work is done (store mode's batches).
   */
  async commit<T>(claim: PartitionClaim, nextOffset: bigint | ((result: T) => bigint), work: (tx: SqlTransaction) => Promise<T>): Promise<{ claim: PartitionClaim; result: T }> {
    const expected = claim.nextOffset ?? -1n
    let stored = typeof nextOffset === 'bigint' ? nextOffset : -1n
    const result = await this.database.transaction(async (tx) => {
      const value = await work(tx)
      if (typeof nextOffset === 'function') stored = nextOffset(value)
      const updated = await tx.query(
        `UPDATE ${this.table} SET next_offset = $1, updated_at = now()
         WHERE group_id = $2 AND topic = $3 AND partition = $4 AND owner_token = $5 AND next_offset = $6`,
        [stored.toString(), claim.groupId, claim.topic, claim.partition, claim.token, expected.toString()],
      )
      if (updated.affected !== 1) {
        throw new StoreFencedError(claim.topic, claim.partition, `its claim of generation ${claim.generation} is no longer the partition's (another member claimed it, or wrote past offset ${expected})`)
      }
      return value
    }, this.idleTimeoutMs)
    return { claim: { ...claim, nextOffset: stored }, result }
  }

  /** True when other transactions wait for a connection to the database (see `SqlDatabase.waiting`). */
  get contended(): boolean {
    return (this.database.waiting?.() ?? 0) > 0
  }

  /** The stored next offsets of a group (for tools and tests); partitions with none are absent. */
  async offsets(groupId: string): Promise<Map<string, bigint>> {
    const result = await this.database.query(`SELECT topic, partition, next_offset FROM ${this.table} WHERE group_id = $1 AND next_offset >= 0`, [groupId])
    return new Map(result.rows.map((row) => [`${String(row.topic)}:${Number(row.partition)}`, toBigInt(row.next_offset)]))
  }
}

function storedClaim(row: SqlRow): StoredClaim {
  const next = toBigInt(row.next_offset)
  return { generation: Number(row.owner_generation), token: String(row.owner_token), nextOffset: next < 0n ? null : next }
}
