/**
 * A set of group consumers reading one topic, recording who owned which partition when, and every
 * record each of them handled, so that tests can check ownership and delivery invariants.
 */
import { errorLogger } from '../../../src/net/logger.js'
import type { EmbeddedBroker } from '../../../src/broker/index.js'
import { Admin } from '../../../src/client/admin/admin.js'
import { type GroupConsumerConfig } from '../../../src/client/consumer/group-consumer.js'
import { CommitFailedError } from '../../../src/client/membership/errors.js'
import { flatten, type TopicPartitions } from '../../../src/client/membership/topic-partitions.js'
import { PartitionNotOwnedError } from '../../../src/client/consumer/group-consumer-errors.js'
import type { BatonError } from '../../../src/protocol/errors/base.js'
import { brokerPerSuite, Condition, consumerProtocolTimings, FaultyGroupConsumer, groupTimings } from './helpers.js'

export interface Member {
  readonly name: string
  readonly consumer: FaultyGroupConsumer
  /** Calls of each hook, in order, as `hook:partitions`. */
  readonly hooks: string[]
  loop: Promise<void>
}

export class Fleet {
  readonly condition = new Condition()
  readonly members: Member[] = []
  /** Current owner of each partition, by the hooks. */
  readonly owners = new Map<number, string>()
  readonly violations: string[] = []
  /** partition:offset → who handled it, in order. */
  readonly handled = new Map<string, string[]>()
  readonly errors: BatonError[] = []
  /** Commits the consumers' loops tried that the group refused (a typed rebalance failure). */
  refusedCommits = 0

  constructor(
    private readonly broker: EmbeddedBroker,
    readonly topic: string,
    readonly groupId: string,
  ) {}

  /** Starts a member that handles each batch, then commits; with `commitOnRevoke`, it also commits in onRevoke. */
  start(name: string, options: Partial<GroupConsumerConfig> & { commitOnRevoke?: boolean; beforeRevoke?: () => Promise<void> } = {}): Member {
    const { commitOnRevoke, beforeRevoke, ...config } = options
    const hooks: string[] = []
    const record = (hook: string, ps: TopicPartitions[]): void => void hooks.push(`${hook}:${flatten(ps).map((tp) => tp.partition).join(',')}`)
    const consumer: FaultyGroupConsumer = new FaultyGroupConsumer({
      bootstrapServers: this.broker.bootstrap,
      clientId: name,
      groupId: this.groupId,
      autoOffsetReset: 'earliest',
      ...(options.groupProtocol === 'consumer' ? consumerProtocolTimings() : groupTimings()),
      logger: errorLogger((e) => this.errors.push(e)),
      ...config,
      hooks: {
        onAssign: (ps) => {
          if (consumer.dead) return
          record('assign', ps)
          for (const { partition } of flatten(ps)) {
            const owner = this.owners.get(partition)
            if (owner !== undefined) this.violations.push(`${partition} assigned to ${name} while ${owner} owns it`)
            this.owners.set(partition, name)
          }
          this.condition.poke()
        },
        onRevoke: async (ps) => {
          if (consumer.dead) return
          record('revoke', ps)
          await beforeRevoke?.()
          if (commitOnRevoke === true) await consumer.commit()
          for (const { partition } of flatten(ps)) this.owners.delete(partition)
          this.condition.poke()
        },
        onLost: async (ps) => {
          if (consumer.dead) return
          record('lost', ps)
          // Whatever is done is not committed: the partitions may be someone else's already.
          await consumer.commit().then(
            () => this.violations.push(`${name} committed for lost partitions`),
            () => undefined,
          )
          for (const { partition } of flatten(ps)) this.owners.delete(partition)
          this.condition.poke()
        },
      },
    })
    const member: Member = { name, consumer, hooks, loop: Promise.resolve() }
    consumer.onStateChange(() => this.condition.poke())
    consumer.subscribe([this.topic])
    member.loop = this.consume(member)
    this.members.push(member)
    return member
  }

  private async consume(member: Member): Promise<void> {
    const { consumer, name } = member
    for await (const batch of consumer.batches()) {
      if (consumer.dead) return
      for (const r of batch.records) {
        const key = `${r.partition}:${r.offset}`
        this.handled.set(key, [...(this.handled.get(key) ?? []), name])
        if (this.owners.get(r.partition) !== name) this.violations.push(`${name} handled ${key} owned by ${this.owners.get(r.partition)}`)
      }
      this.condition.poke()
      try {
        await consumer.commit()
      } catch (error) {
        if (!(error instanceof CommitFailedError || error instanceof PartitionNotOwnedError)) throw error
        this.refusedCommits++
      }
    }
  }

  /** The member dies: its partitions count as nobody's until the group hands them out again. */
  crash(member: Member): void {
    member.consumer.crash()
    for (const [partition, owner] of [...this.owners]) if (owner === member.name) this.owners.delete(partition)
    this.condition.poke()
  }

  async close(member: Member): Promise<void> {
    await member.consumer.close()
    await member.loop
    this.members.splice(this.members.indexOf(member), 1)
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.members].map((m) => this.close(m)))
  }

  owned(member: Member): number[] {
    return [...this.owners].filter(([, owner]) => owner === member.name).map(([p]) => p).sort((a, b) => a - b)
  }

  stable(...members: Member[]): boolean {
    return members.every((m) => m.consumer.state === 'stable')
  }

  /** Offsets handled more than once, and offsets in [0, perPartition) never handled. */
  tally(partitions: number, perPartition: number): { duplicates: string[]; missing: string[] } {
    const duplicates = [...this.handled].filter(([, by]) => by.length > 1).map(([key]) => key)
    const missing: string[] = []
    for (let p = 0; p < partitions; p++) for (let o = 0; o < perPartition; o++) if (!this.handled.has(`${p}:${o}`)) missing.push(`${p}:${o}`)
    return { duplicates, missing }
  }

  handledCount(): number {
    return this.handled.size
  }

  async committed(): Promise<Map<number, bigint>> {
    const admin = new Admin({ bootstrapServers: this.broker.bootstrap })
    try {
      const offsets = await admin.fetchOffsets(this.groupId, [{ topic: this.topic, partitions: [0, 1, 2, 3, 4, 5] }])
      return new Map(offsets.map((o) => [o.partition, o.offset]))
    } finally {
      await admin.close()
    }
  }
}

/**
 * For a describe block whose tests each run a fleet on a topic of their own: one broker started
 * before the block's tests, and every fleet and the broker closed after them. Each topic has
 * `partitions` partitions holding `perPartition` records when its fleet is handed out.
 */
export function fleetsOnOneBroker(partitions: number, perPartition: number): { broker: () => EmbeddedBroker; fleet: (name: string) => Promise<Fleet> } {
  const suite = brokerPerSuite(
    (broker, topic) => new Fleet(broker, topic, `${topic}-group`),
    (fleet) => fleet.closeAll(),
  )
  return { broker: suite.broker, fleet: (name) => suite.topic(name, partitions, perPartition) }
}
