/**
 * The dead-letter middleware: once the rest of the chain has given up on a record (retries spent,
 * or a non-retriable error), send it to a dead-letter topic and count it as done, so a poison record
 * never blocks its partition and is never lost.
 *
 * The dead-lettered record keeps its key, value and headers and gains the headers in `DLT_HEADERS`.
 * Producing to the dead-letter topic is retried until it succeeds or the work is aborted: a record
 * that could not be parked stays undone and is redelivered.
 */
import { BatonError } from '../client/index.js'
import type { ProducedRecord } from './consumer-port.js'
import { ProcessingAbortedError } from './errors.js'
import { recovering, type Context, type Middleware, type Recover, type Work } from './handler.js'
import { sleep } from './limiter.js'

export const DLT_HEADERS = {
  errorClass: 'baton-dlt-error-class',
  errorCode: 'baton-dlt-error-code',
  errorMessage: 'baton-dlt-error-message',
  sourceTopic: 'baton-dlt-source-topic',
  sourcePartition: 'baton-dlt-source-partition',
  sourceOffset: 'baton-dlt-source-offset',
  attempts: 'baton-dlt-attempts',
} as const

export interface DeadLetterOptions {
  readonly topic: string
  /** Produces a dead letter; `ctx.produce` puts it in the record's transaction in transactional mode. */
  readonly send: (record: ProducedRecord, ctx: Context) => Promise<void>
  /** Delay between attempts to produce to the dead-letter topic. Default 1000 ms. */
  readonly produceRetryMs?: number
}

export interface DeadLetterObserver {
  deadLettered(work: Work, ctx: Context, error: unknown, topic: string): void
  deadLetterProduceFailed(work: Work, ctx: Context, error: unknown, topic: string): void
}

export function deadLetter(options: DeadLetterOptions, observer?: DeadLetterObserver): Middleware {
  const park = deadLetterFailure(options, observer)
  return (next) => recovering(next, park)
}

/** What `deadLetter` does with a failure of the rest of the chain: produce it to the dead-letter topic, or rethrow an abort. */
export function deadLetterFailure(options: DeadLetterOptions, observer?: DeadLetterObserver): Recover {
  return async (work, ctx, error) => {
    if (ctx.signal.aborted || error instanceof ProcessingAbortedError) throw error
    for (const record of deadLetterRecords(work, ctx, error, options.topic)) {
      for (;;) {
        try {
          await options.send(record, ctx)
          break
        } catch (produceError) {
          observer?.deadLetterProduceFailed(work, ctx, produceError, options.topic)
          await sleep(options.produceRetryMs ?? 1000, ctx.signal)
        }
      }
    }
    observer?.deadLettered(work, ctx, error, options.topic)
  }
}

export function deadLetterRecords(work: Work, ctx: Context, error: unknown, topic: string): ProducedRecord[] {
  const failure = describeError(error)
  return work.records.map((record) => ({
    topic,
    key: record.key,
    value: record.value,
    headers: [
      ...record.headers,
      { key: DLT_HEADERS.errorClass, value: failure.name },
      { key: DLT_HEADERS.errorCode, value: failure.code },
      { key: DLT_HEADERS.errorMessage, value: failure.message },
      { key: DLT_HEADERS.sourceTopic, value: work.topic },
      { key: DLT_HEADERS.sourcePartition, value: String(work.partition) },
      { key: DLT_HEADERS.sourceOffset, value: String(record.offset) },
      { key: DLT_HEADERS.attempts, value: String(ctx.attempt) },
    ],
  }))
}

function describeError(error: unknown): { name: string; code: string | null; message: string } {
  if (error instanceof BatonError) return { name: error.name, code: error.code, message: error.message }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return { name: error.name, code: typeof code === 'string' ? code : null, message: error.message }
  }
  return { name: typeof error, code: null, message: String(error) }
}
