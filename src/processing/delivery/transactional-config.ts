/**
 * `baton({ transactions: {...} })`: the settings of the `transactional` delivery, their defaults and
 * their checks.
 */
import { hostname } from 'node:os'
import { ConfigError } from '../errors.js'
import type { ConsumerPort } from '../consumer-port.js'
import { refuseUnknownKeys } from '../../client/index.js'

export interface TransactionsOptions {
  /**
   * The transactional id of this process's producer. With KIP-447 the group's generation fences a
   * member that lost its partitions, so one id per process is enough (not one per partition); it
   * must differ between processes running at the same time. Default:
   * `baton-<groupId>-<kafka.groupInstanceId>` with static membership, which a restarted member
   * reuses, so it fences its predecessor's open transaction at once; otherwise
   * `baton-<groupId>-<host>-<pid>`, whose open transaction after a crash is aborted by the
   * coordinator after `transactionTimeoutMs`.
   */
  readonly transactionalId?: string
  /** A transaction starts once this many records are done. Default 1000. */
  readonly maxRecords?: number
  /** ... or once the oldest done record has waited this long. Default 100. */
  readonly maxMs?: number
  /**
   * How long the coordinator lets a transaction of this member stay open before aborting it
   * (a crashed or stalled member). read_committed readers of the outputs, and the next owner of
   * the input partitions, wait at most this long. Default 10 000.
   */
  readonly transactionTimeoutMs?: number
}

export interface ResolvedTransactions {
  readonly transactionalId: string
  readonly maxRecords: number
  readonly maxMs: number
  readonly transactionTimeoutMs: number
}

const NAMES = ['transactionalId', 'maxRecords', 'maxMs', 'transactionTimeoutMs'] as const satisfies readonly (keyof TransactionsOptions)[]

export function resolveTransactions(options: TransactionsOptions | undefined, groupId: string, groupInstanceId: string | undefined): ResolvedTransactions {
  const given = options ?? {}
  if (typeof given !== 'object' || given === null) throw new ConfigError('transactions', 'must be an object such as { maxRecords: 1000, maxMs: 100 }')
  refuseUnknownKeys('transactions', given, NAMES, {})
  if (given.transactionalId !== undefined && (typeof given.transactionalId !== 'string' || given.transactionalId.length === 0)) {
    throw new ConfigError('transactions.transactionalId', 'must be a non-empty string, unique among the processes running at the same time')
  }
  const maxRecords = positive('transactions.maxRecords', given.maxRecords, 1000)
  const maxMs = positive('transactions.maxMs', given.maxMs, 100)
  const transactionTimeoutMs = positive('transactions.transactionTimeoutMs', given.transactionTimeoutMs, 10_000)
  const instance = groupInstanceId ?? `${hostname()}-${process.pid}`
  return { transactionalId: given.transactionalId ?? `baton-${groupId}-${instance}`, maxRecords, maxMs, transactionTimeoutMs }
}

/**
 * A transactional route needs baton's own client: its producer is built from `brokers`, and the
 * consumer must tell its group metadata (generation, member id) for the transaction's offsets.
 */
export function requireTransactionalSupport(where: string, options: { readonly brokers?: string | readonly string[]; readonly consumer?: ConsumerPort }): void {
  if (options.brokers === undefined || String(options.brokers).trim() === '') {
    throw new ConfigError(`${where}.delivery`, "'transactional' writes its outputs with baton's own transactional producer, which needs `brokers` on baton()")
  }
  if (options.consumer !== undefined && typeof options.consumer.groupMetadata !== 'function') {
    throw new ConfigError(`${where}.delivery`, "'transactional' needs a consumer that reports its group metadata (groupMetadata()) for the transaction's offsets; leave `consumer` out to use baton's own")
  }
}

function positive(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw new ConfigError(option, `must be a positive integer, got ${JSON.stringify(value)}`)
  return value
}
