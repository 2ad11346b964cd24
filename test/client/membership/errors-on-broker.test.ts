/**
 * How the member meets the coordinator's errors, against the embedded broker (its fault injection
 * answers a request with the error, its coordinator applies the real rules), over real sockets.
 * Invariants: a transient coordinator error, on a join or on a commit, is retried after looking the
 * coordinator up again (a commit within the same generation); a SyncGroup refused because a
 * rebalance started means rejoining, losing nothing; a group whose members share no protocol stops
 * the newcomer with the Kafka error, typed, and keeps its member. The member's rules the broker
 * cannot script (errors while a hook runs, a generation ending mid-hook, timing) stay on the fake
 * coordinator in membership-errors.test.ts and membership.test.ts.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { Cluster } from '../../../src/client/cluster.js'
import { resolveClientConfig } from '../../../src/client/config.js'
import { rangeAssignor, roundRobinAssignor } from '../../../src/client/membership/assignors/index.js'
import { ClusterGroupTransport, ClusterMetadataSource } from '../../../src/client/membership/cluster-adapter.js'
import { GroupMember, type GroupMemberOptions } from '../../../src/client/membership/member.js'
import type { MemberState } from '../../../src/client/membership/state.js'
import type { BatonError } from '../../../src/protocol/errors/base.js'
import { KafkaError, KafkaErrorCode } from '../../../src/protocol/errors/kafka-errors.js'
import { JoinGroup, OffsetCommit, SyncGroup } from '../../../src/protocol/generated/index.js'

const WAIT_MS = 15_000

/** The client's coordinator connection, counting how often the member forgot the coordinator. */
class CountingTransport extends ClusterGroupTransport {
  coordinatorLostCalls = 0

  override coordinatorLost(): void {
    this.coordinatorLostCalls++
    super.coordinatorLost()
  }
}

interface Started {
  readonly member: GroupMember
  readonly transport: CountingTransport
  readonly hooks: string[]
  readonly errors: BatonError[]
}

function untilState(member: GroupMember, wanted: MemberState): Promise<void> {
  if (member.state === wanted) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`member did not reach ${wanted} within ${WAIT_MS} ms (it is ${member.state})`))
    }, WAIT_MS)
    const off = member.onStateChange((to) => {
      if (to !== wanted) return
      clearTimeout(timer)
      off()
      resolve()
    })
  })
}

describe('membership errors against the embedded broker', () => {
  let broker: EmbeddedBroker
  const closers: (() => Promise<void>)[] = []

  before(async () => {
    broker = await startBroker({ memory: true, autoCreateTopics: false })
    broker.createTopic('orders', { partitions: 4 })
  })

  after(async () => {
    for (const close of closers.splice(0).reverse()) await close()
    await broker.stop()
  })

  function start(groupId: string, options: Partial<GroupMemberOptions> = {}): Started {
    const cluster = new Cluster(resolveClientConfig({ bootstrapServers: broker.bootstrap, clientId: groupId, retryBackoffMs: 20 }))
    const transport = new CountingTransport(cluster, groupId, 10_000)
    const hooks: string[] = []
    const errors: BatonError[] = []
    const member = new GroupMember({
      groupId,
      transport,
      metadata: new ClusterMetadataSource(cluster),
      sessionTimeoutMs: 6_000,
      rebalanceTimeoutMs: 10_000,
      heartbeatIntervalMs: 100,
      retryBackoffMs: 20,
      onError: (e) => errors.push(e),
      hooks: {
        onAssign: () => void hooks.push('onAssign'),
        onRevoke: () => void hooks.push('onRevoke'),
        onLost: () => void hooks.push('onLost'),
      },
      ...options,
    })
    closers.push(async () => {
      await member.close()
      await transport.close()
      await cluster.close()
    })
    return { member, transport, hooks, errors }
  }

  it('retries a join after COORDINATOR_NOT_AVAILABLE, looking the coordinator up again', async () => {
    broker.faults.failNext(JoinGroup, KafkaErrorCode.COORDINATOR_NOT_AVAILABLE)
    const { member, transport } = start('g-coordinator-moving')
    member.subscribe(['orders'])
    await untilState(member, 'stable')
    assert.equal(transport.coordinatorLostCalls, 1)
  })

  it('rejoins after SyncGroup answers REBALANCE_IN_PROGRESS, losing nothing', async () => {
    broker.faults.failNext(SyncGroup, KafkaErrorCode.REBALANCE_IN_PROGRESS)
    const { member, hooks } = start('g-sync-refused')
    member.subscribe(['orders'])
    await untilState(member, 'stable')
    assert.deepEqual(hooks, ['onAssign'])
    assert.equal(member.assignment()[0]?.partitions.length, 4)
  })

  it('retries a commit that meets a moved coordinator, within the same generation', async () => {
    const { member, transport } = start('g-commit-coordinator-moved')
    member.subscribe(['orders'])
    await untilState(member, 'stable')
    const generation = member.generationId
    broker.faults.failNext(OffsetCommit, KafkaErrorCode.NOT_COORDINATOR)
    await member.commit([{ topic: 'orders', partition: 1, offset: 9n }])
    assert.equal(transport.coordinatorLostCalls, 1)
    assert.equal(member.generationId, generation)
    const [stored] = await member.committed([{ topic: 'orders', partition: 1 }])
    assert.equal(stored?.offset, 9n)
  })

  it('stops a newcomer whose protocols the group does not share with the Kafka error, and the group keeps its member', async () => {
    const first = start('g-no-common-protocol', { assignors: [rangeAssignor] })
    first.member.subscribe(['orders'])
    await untilState(first.member, 'stable')
    const newcomer = start('g-no-common-protocol', { assignors: [roundRobinAssignor] })
    newcomer.member.subscribe(['orders'])
    await untilState(newcomer.member, 'closed')
    const failure = newcomer.member.failure
    assert.ok(failure instanceof KafkaError, `failed with ${String(failure)}`)
    assert.equal(failure.errorCode, KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    assert.ok(newcomer.errors.includes(failure))
    assert.equal(first.member.state, 'stable')
    assert.equal(first.member.assignment()[0]?.partitions.length, 4)
  })
})
