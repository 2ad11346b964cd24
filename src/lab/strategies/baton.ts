/**
 * `baton`: the processing framework with its defaults, hand-off included (its steps:
 * src/processing/README.md, "The hand-off"). The handler is the same as every other strategy's;
 * it only passes `ctx.signal` on, as the framework asks.
 *
 * The lab changes nothing but timings: the group's timeouts (short, so a crash costs seconds), the
 * drain deadline under them, and the commit interval scaled like the handler time.
 */
import { baton as createApp, type BatonApp, type BatonOptions, type Logger } from '../../processing/index.js'
import { LabConsumer } from '../members/lab-consumer.js'
import type { Outcome } from '../verify.js'
import { crashClause, gracefulDuplicates, plural } from './explain.js'
import { handlerEffects, type LabMember, type MemberContext, type Strategy } from './types.js'

export const batonStrategy: Strategy = {
  name: 'baton',
  summary: 'baton defaults: drain in-flight work, commit, then release (cooperative-sticky)',
  guarantee: 'at-least-once, safe hand-off',
  expectation: { kind: 'fewer-duplicates-than', strategy: 'naive' },
  explain: (o) => explainBaton(o),
  open: handlerEffects((context) => batonMember(context, 'cooperative')),
}

/**
 * `baton-848`: the same framework and hand-off on the consumer group protocol of KIP-848: the
 * coordinator assigns, and a partition moves to its next owner only once this member's heartbeat
 * shows it released, which happens after onRevoke has drained and committed.
 */
export const baton848Strategy: Strategy = {
  name: 'baton-848',
  summary: 'baton defaults on KIP-848: the coordinator moves partitions one owner at a time, after the hand-off commit',
  guarantee: 'at-least-once, safe hand-off',
  expectation: { kind: 'fewer-duplicates-than', strategy: 'naive' },
  explain: (o) => explainBaton(o),
  open: handlerEffects((context) => batonMember(context, 'kip848')),
}

/** Graceful changes drain and commit before the partition moves; a crash commits nothing, so what it had done since its last commit runs again. */
function explainBaton(o: Outcome): string {
  return `The hand-off drains running records and commits before a partition moves, so graceful changes duplicate nothing (${plural(gracefulDuplicates(o), 'duplicate')} here); a crash commits nothing, but commits go out as work completes, so little is done and uncommitted when it strikes: ${crashClause(o)}.`
}

/** What a baton-based strategy adds to the app every baton member runs: its options and its route. */
export interface BatonMemberShape {
  readonly protocol: 'cooperative' | 'kip848'
  /** Options beyond the lab's timings (a delivery mode's settings, `brokers` for its producer). */
  readonly options?: Partial<BatonOptions>
  /** Declares the route on the app; default: the lab's handler, at-least-once. */
  readonly consume?: (app: BatonApp, context: MemberContext) => void
}

export function batonMember(context: MemberContext, shape: BatonMemberShape | 'cooperative' | 'kip848'): LabMember {
  const { protocol, options = {}, consume = atLeastOnce } = typeof shape === 'string' ? { protocol: shape } : shape
  const consumer = new LabConsumer({
    consumerId: context.consumerId,
    bootstrap: context.bootstrap,
    groupId: context.groupId,
    protocol,
    sessionTimeoutMs: context.timeouts.sessionTimeoutMs,
    rebalanceTimeoutMs: context.timeouts.rebalanceTimeoutMs,
    heartbeatIntervalMs: context.timeouts.heartbeatIntervalMs,
    ownership: context.ownership,
    onError: context.onError,
  })
  const app = createApp({
    ...options,
    groupId: context.groupId,
    consumer,
    drainTimeoutMs: context.timeouts.drainTimeoutMs,
    rebalanceTimeoutMs: context.timeouts.rebalanceTimeoutMs,
    logger: labLogger(context.onError),
    signals: false,
  })
  consume(app, context)
  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> => (stopped ??= app.stop().then(() => undefined))
  return {
    consumerId: context.consumerId,
    consumer,
    start: () => app.start(),
    stop,
    crash: () => {
      consumer.crash()
      // The process is gone: its handlers' effects are already void (the sink knows), and the
      // app is wound down only so that this process releases its timers; its commits are refused.
      void stop()
    },
  }
}

/** The handler every at-least-once strategy runs: the work, then its effect, written at once. */
function atLeastOnce(app: BatonApp, context: MemberContext): void {
  // The lab's records never fail, so there is nothing to dead-letter and no producer to give.
  app.consume(context.topic, (record, ctx) => context.sink.handle(context.consumerId, record.partition, record.offset, record.value, ctx.signal), {
    deadLetter: false,
  })
}

/**
 * The framework's warnings (a refused commit, aborted handlers) are what the lab wants to count:
 * each becomes a recovered error in results.json, by the class of the error it carries.
 */
function labLogger(onError: (error: unknown) => void): Logger {
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (fields, message) => onError((fields as { err?: unknown }).err ?? new LabWarning(message ?? 'warning')),
    error: (fields, message) => onError((fields as { err?: unknown }).err ?? new LabWarning(message ?? 'error')),
    child: () => logger,
  }
  return logger
}

/** A framework warning that carried no error object. */
class LabWarning extends Error {}
