import type { ProducedRecord } from './consumer-port.js'
import type { Context, Work } from './handler.js'
import type { Logger } from './logger.js'

/** Where a context reads its partition's state from: the partition worker. */
export interface PartitionState {
  readonly signal: AbortSignal
  readonly revokingSignal: AbortSignal
}

/** The `ctx` given to handlers and middleware. `attempt` is advanced by the retry middleware. */
export class WorkContext implements Context {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  attempt = 1
  private logger: Logger | undefined

  constructor(
    work: Work,
    private readonly state: PartitionState,
    private readonly baseLogger: Logger,
    private readonly send: (record: ProducedRecord) => Promise<void>,
  ) {
    this.topic = work.topic
    this.partition = work.partition
    this.offset = work.records[0]?.offset ?? -1n
  }

  get signal(): AbortSignal {
    return this.state.signal
  }

  get revokingSignal(): AbortSignal {
    return this.state.revokingSignal
  }

  get revoking(): boolean {
    return this.state.revokingSignal.aborted
  }

  // Child loggers cost an allocation and a serialisation of bindings; most handlers never log.
  get log(): Logger {
    this.logger ??= this.baseLogger.child({ topic: this.topic, partition: this.partition, offset: String(this.offset) })
    return this.logger
  }

  produce(record: ProducedRecord): Promise<void> {
    return this.send(record)
  }
}
