/**
 * `transactional`: baton with `delivery: 'transactional'`. The handler's effect is an output record
 * (`ctx.produce`), written with the input offsets in one Kafka transaction (KIP-447: the offsets
 * carry the member's generation, so a member the group has moved past cannot commit). The lab
 * counts an effect when a `read_committed` reader of the output topic sees it, as a downstream
 * consumer would.
 *
 * The crash is the lab's usual one, in this process: the member's consumer goes silent, and from
 * then on it has no group metadata to give, so a transaction it opens or has open never commits;
 * its outputs stay invisible, and the partitions' next owner redoes those records from the last
 * committed offsets. (The framework's tests kill real processes with SIGKILL mid-transaction.)
 */
import diagnostics from 'node:diagnostics_channel'
import { CHANNELS, type BatonApp, type TransactionEvent } from '../../processing/index.js'
import { OutputReader, outputRecord } from '../members/output-reader.js'
import type { Outcome } from '../verify.js'
import { batonMember } from './baton.js'
import { plural } from './explain.js'
import type { MemberContext, RunContext, Strategy, StrategySession } from './types.js'

export const transactionalStrategy: Strategy = {
  name: 'transactional',
  summary: "baton with delivery: 'transactional': each record's output and the input offsets in one Kafka transaction",
  guarantee: 'exactly-once (Kafka txn)',
  expectation: { kind: 'exactly-once' },
  explain: (o) => explainTransactional(o),
  open: (run) => openTransactional(run),
}

function explainTransactional(o: Outcome): string {
  const crash =
    o.crashes === 0
      ? 'a crash would abort the member\'s open transaction, so only the next owner\'s redo would become visible'
      : o.inFlightAtCrash === 0
        ? 'the crash caught its member with nothing started since its last commit, so it had no outputs to hide'
        : `the crashed member's ${plural(o.inFlightAtCrash, 'record')} started since its last commit had their outputs in no committed transaction, so only the next owner's redo became visible`
  return `Outputs become visible to read_committed readers only with the transaction that commits the input offsets; ${crash}: ${plural(o.duplicated, 'duplicate')}.`
}

async function openTransactional(run: RunContext): Promise<StrategySession> {
  const outputTopic = `${run.topic}-transactional-out`
  const reader = new OutputReader(run.bootstrap, outputTopic, run.partitions, run.sink, run.onError)
  await reader.start()
  const committed = new CommittedOffsets(run.topic)
  return {
    createMember: (context) => {
      const transactionalId = `${context.groupId}-${context.consumerId}`
      return {
        ...batonMember(context, {
          protocol: 'cooperative',
          options: {
            // The transactional producer is baton's own; the consumer is still the lab's.
            brokers: [...context.bootstrap],
            // One id per member: members sharing this process must not fence each other.
            transactions: { transactionalId, transactionTimeoutMs: context.timeouts.sessionTimeoutMs },
          },
          consume: (app) => consumeTransactional(app, context, outputTopic),
        }),
        committedOffset: (partition) => Promise.resolve(committed.of(transactionalId, partition)),
      }
    },
    close: async () => {
      committed.close()
      await reader.close()
    },
  }
}

function consumeTransactional(app: BatonApp, context: MemberContext, outputTopic: string): void {
  app.consume(
    context.topic,
    async (record, ctx) => {
      const id = await context.sink.work(context.consumerId, record.partition, record.offset, record.value, ctx.signal)
      if (id === undefined) return
      await ctx.produce(outputRecord(outputTopic, id, context.consumerId, record.partition, record.offset))
    },
    { delivery: 'transactional', deadLetter: false },
  )
}

/** The input offsets each member's transactions committed, from the framework's transaction events: what a crash report counts from. */
class CommittedOffsets {
  private readonly byMember = new Map<string, Map<number, bigint>>()
  private readonly listener = (message: unknown): void => {
    const event = message as TransactionEvent
    if (event.phase !== 'committed') return
    let offsets = this.byMember.get(event.transactionalId)
    if (offsets === undefined) this.byMember.set(event.transactionalId, (offsets = new Map<number, bigint>()))
    for (const o of event.offsets) if (o.topic === this.topic) offsets.set(o.partition, o.offset)
  }

  constructor(private readonly topic: string) {
    diagnostics.subscribe(CHANNELS.transaction, this.listener)
  }

  of(transactionalId: string, partition: number): bigint | undefined {
    return this.byMember.get(transactionalId)?.get(partition)
  }

  close(): void {
    diagnostics.unsubscribe(CHANNELS.transaction, this.listener)
  }
}
