/**
 * Requests to the transaction coordinator (and, for TxnOffsetCommit, the group coordinator), each
 * retried until it succeeds, fails in a way retrying cannot fix, or outlasts the deadline.
 * CONCURRENT_TRANSACTIONS (the previous transaction is still being completed),
 * COORDINATOR_LOAD_IN_PROGRESS and lost connections are retried; NOT_COORDINATOR and
 * COORDINATOR_NOT_AVAILABLE look the coordinator up again first, so a coordinator that moved to
 * another broker is followed.
 *
 * A retry that goes on for more than a few seconds is reported once through `onSlow`, naming what
 * it waits for.
 */
import type { ApiSpec } from '../../protocol/codec-runtime.js'
import { KafkaError, KafkaErrorCode, kafkaError } from '../../protocol/errors/kafka-errors.js'
import type { Cluster, CoordinatorType } from '../cluster.js'
import { backoffDelay, sleep } from '../retry.js'
import { ClientClosedError } from '../errors.js'
import { classifyTransactionError, type TransactionRequestKind } from './transaction-errors.js'

/** CONCURRENT_TRANSACTIONS clears within milliseconds on a healthy coordinator; Kafka's clients retry it quickly too. */
const CONCURRENT_TRANSACTIONS_BACKOFF_MS = 20
const SLOW_AFTER_MS = 5_000

export interface CoordinatorTarget {
  readonly type: CoordinatorType
  readonly key: string
}

export interface TransactionRequestOptions {
  /** How long one operation (with its retries) may take; the producer's maxBlockMs. */
  readonly timeoutMs: number
  readonly onSlow: (message: string) => void
}

export class TransactionRequests {
  constructor(
    private readonly cluster: Cluster,
    private readonly options: TransactionRequestOptions,
  ) {}

  /**
   * Sends `body` to the coordinator of `target` until the response's error code (read by
   * `errorOf`) is 0, or a failure that is not retried.
   * @throws KafkaError (the broker's refusal, to be classified by the caller), NetworkError or MetadataError when time ran out.
   */
  async send<Req, ReqInit, Res, ResInit>(
    kind: TransactionRequestKind,
    target: CoordinatorTarget,
    api: ApiSpec<Req, ReqInit, Res, ResInit>,
    body: (version: number) => ReqInit,
    errorOf: (response: Res) => { code: number; message?: string | null } | null,
  ): Promise<Res> {
    const started = Date.now()
    const deadline = started + this.options.timeoutMs
    let warned = false
    for (let attempt = 1; ; attempt++) {
      if (this.cluster.closed) throw new ClientClosedError('The producer')
      let failure: unknown
      let refresh = false
      try {
        const nodeId = await this.cluster.coordinator(target.type, target.key)
        const response = await this.cluster.connectionTo(nodeId).request(api, body)
        const error = errorOf(response)
        if (error === null) return response
        failure = kafkaError(error.code, {
          api: api.name,
          broker: nodeId,
          errorMessage: error.message ?? null,
          ...(target.type === 'group' ? { groupId: target.key } : { transactionalId: target.key }),
        })
      } catch (error) {
        failure = error
      }
      const verdict = classifyTransactionError(failure, kind)
      if (verdict.kind !== 'retry') throw failure
      if (verdict.coordinatorMoved) {
        this.cluster.invalidateCoordinator(target.type, target.key)
        refresh = true
      }
      const concurrent = failure instanceof KafkaError && failure.errorCode === KafkaErrorCode.CONCURRENT_TRANSACTIONS
      const wait = concurrent && attempt < 5 ? CONCURRENT_TRANSACTIONS_BACKOFF_MS : backoffDelay(attempt, { initialMs: this.cluster.config.retryBackoffMs, maxMs: this.cluster.config.retryBackoffMaxMs })
      if (Date.now() + wait > deadline) throw failure
      if (!warned && Date.now() - started > SLOW_AFTER_MS) {
        warned = true
        const why = failure instanceof Error ? failure.message : String(failure)
        this.options.onSlow(`${api.name} for ${target.type} ${JSON.stringify(target.key)} has been retried for ${Date.now() - started} ms (last: ${why}); still trying until ${this.options.timeoutMs} ms`)
      }
      if (refresh) await this.cluster.refresh().catch(() => undefined)
      await sleep(wait)
    }
  }
}
