/**
 * Where the `transactional` strategy's effects become visible: its handlers produce one output
 * record per input record, inside the member's Kafka transaction, and this reader (read_committed,
 * as a downstream consumer would be) hands each one it sees to the sink. Outputs of a transaction
 * that aborted, or that a crashed member left open until the coordinator aborted it, are never
 * seen, which is the whole point: the lab counts what a user of the output topic would count.
 */
import { Admin, Consumer, isKafkaError, KafkaErrorCode } from '../../client/index.js'
import type { EffectSink } from '../effects.js'

/** An output record's fields, as a handler passes them to `ctx.produce`. */
export interface OutputRecord {
  readonly topic: string
  readonly partition: number
  readonly key: string
  readonly value: string
}

/**
 * The output of input record `id` (at `partition`/`offset`), handled by `consumerId`: it goes to
 * the same partition of the output topic, and says which member produced it, so that a duplicate
 * can be told apart by member like any other effect.
 */
export function outputRecord(topic: string, id: number, consumerId: string, partition: number, offset: bigint): OutputRecord {
  return { topic, partition, key: `k${id}`, value: JSON.stringify({ id, by: consumerId, p: partition, o: String(offset) }) }
}

interface DecodedOutput {
  readonly id: number
  readonly by: string
  readonly p: number
  readonly o: string
}

function decode(value: Buffer | null): DecodedOutput | undefined {
  if (value === null) return undefined
  try {
    const parsed = JSON.parse(value.toString('utf8')) as Partial<DecodedOutput>
    if (typeof parsed.id !== 'number' || typeof parsed.by !== 'string' || typeof parsed.p !== 'number' || typeof parsed.o !== 'string') return undefined
    return parsed as DecodedOutput
  } catch {
    return undefined
  }
}

export class OutputReader {
  private readonly consumer: Consumer
  private loop: Promise<void> | undefined

  constructor(
    private readonly bootstrap: readonly string[],
    private readonly topic: string,
    private readonly partitions: number,
    private readonly sink: EffectSink,
    private readonly onError: (error: unknown) => void,
  ) {
    this.consumer = new Consumer({
      bootstrapServers: bootstrap,
      clientId: 'baton-lab-output-reader',
      isolationLevel: 'read_committed',
      autoOffsetReset: 'earliest',
      fetchMaxWaitMs: 100,
    })
  }

  /** Creates the output topic (partitions as the input's) and starts reading it from the beginning. */
  async start(): Promise<void> {
    const admin = new Admin({ bootstrapServers: this.bootstrap, clientId: 'baton-lab-admin' })
    try {
      await admin.createTopics([{ name: this.topic, partitions: this.partitions }], { timeoutMs: 30_000 })
    } catch (error) {
      if (!isKafkaError(error) || error.errorCode !== KafkaErrorCode.TOPIC_ALREADY_EXISTS) throw error
    } finally {
      await admin.close()
    }
    await this.consumer.connect()
    await this.consumer.assign(Array.from({ length: this.partitions }, (_, partition) => ({ topic: this.topic, partition, offset: 'earliest' as const })))
    this.loop = this.read()
  }

  async close(): Promise<void> {
    await this.consumer.close()
    await this.loop
  }

  private async read(): Promise<void> {
    try {
      for await (const batch of this.consumer.batches()) {
        for (const record of batch.records) {
          const output = decode(record.value)
          if (output !== undefined) this.sink.observe(output.id, output.p, BigInt(output.o), output.by)
        }
      }
    } catch (error) {
      this.onError(error)
    }
  }
}
