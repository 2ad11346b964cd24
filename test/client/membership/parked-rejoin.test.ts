/**
 * Invariant: a commit made while the member rejoins is answered at once, under the generation it
 * holds, even when the coordinator parks the member's JoinGroup until a crashed member's session
 * expires. The coordinator answers a connection's requests one at a time, so a commit queued behind
 * the parked JoinGroup would wait out that session and then be refused by the rebalance it
 * completes: a stop in the middle of such a rebalance could not commit within its deadline, and the
 * next owner would redo what the stopping member had finished.
 *
 * And a member closed while its JoinGroup is parked does not wait for it: it revokes (its commits
 * stored) and leaves at once, so the rest of the group does not wait out its session as well.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { Cluster } from '../../../src/client/cluster.js'
import { resolveClientConfig } from '../../../src/client/config.js'
import { ClusterGroupTransport, ClusterMetadataSource } from '../../../src/client/membership/cluster-adapter.js'
import type { RebalanceHooks } from '../../../src/client/membership/hooks.js'
import { GroupMember } from '../../../src/client/membership/member.js'
import type { MemberState } from '../../../src/client/membership/state.js'
import { flatten } from '../../../src/client/membership/topic-partitions.js'
import { NetworkError } from '../../../src/net/errors.js'
import type { ApiSpec } from '../../../src/protocol/codec-runtime.js'

const SESSION_MS = 3_000
const WAIT_MS = 15_000

/** The real transport until crash(): then nothing reaches the coordinator, as if the process had died. */
class CrashableTransport extends ClusterGroupTransport {
  private crashed = false
  /** Called with each request's API name as it is sent. */
  onSend: (api: string) => void = () => undefined

  crash(): Promise<void> {
    this.crashed = true
    return this.close()
  }

  override send<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, body: (version: number) => ReqInit): Promise<Res> {
    if (this.crashed) return Promise.reject(new NetworkError('NET_CONNECTION_LOST', { broker: 'crashed', api: api.name }, 'crashed'))
    const response = super.send(api, body)
    this.onSend(api.name)
    return response
  }
}

/** Resolves once `member` is in `state`; fails after WAIT_MS. */
function reaches(member: GroupMember, state: MemberState): Promise<void> {
  if (member.state === state) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the member did not reach ${state} within ${WAIT_MS} ms (it is ${member.state})`)), WAIT_MS)
    member.onStateChange((to) => {
      if (to !== state) return
      clearTimeout(timer)
      resolve()
    })
  })
}

describe('a commit while the member rejoins a rebalance held up by a crashed member', () => {
  let broker: EmbeddedBroker
  const closers: (() => Promise<void>)[] = []

  before(async () => {
    broker = await startBroker({ nodes: 1, autoCreateTopics: false, groups: { minSessionTimeoutMs: 500 } })
    broker.createTopic('parked-orders', { partitions: 4 })
  })
  after(async () => {
    for (const close of closers.splice(0).reverse()) await close()
    await broker.stop()
  })

  function start(name: string, groupId = 'parked-group', hooks: RebalanceHooks = {}): { member: GroupMember; transport: CrashableTransport } {
    const cluster = new Cluster(resolveClientConfig({ bootstrapServers: broker.bootstrap, clientId: name }))
    const transport = new CrashableTransport(cluster, groupId, 10_000)
    const member = new GroupMember({
      groupId,
      hooks,
      transport,
      metadata: new ClusterMetadataSource(cluster),
      sessionTimeoutMs: SESSION_MS,
      heartbeatIntervalMs: 300,
      rebalanceTimeoutMs: 10_000,
    })
    closers.push(async () => {
      await member.close().catch(() => undefined)
      await transport.close()
      await cluster.close()
    })
    member.subscribe(['parked-orders'])
    return { member, transport }
  }

  /** Resolves once a and b are stable with two partitions each. */
  function split(a: GroupMember, b: GroupMember): Promise<void> {
    const settled = (): boolean => a.state === 'stable' && b.state === 'stable' && flatten(b.assignment()).length === 2
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('a and b did not split the topic')), WAIT_MS)
      const check = (): void => {
        if (!settled()) return
        clearTimeout(timer)
        resolve()
      }
      a.onStateChange(check)
      b.onStateChange(check)
      check()
    })
  }

  it('is stored at once, before the rebalance completes, not after the crashed member\'s session', async () => {
    const a = start('a')
    await reaches(a.member, 'stable')
    const b = start('b')
    await split(a.member, b.member)
    const owned = flatten(b.member.assignment())
    const generation = b.member.generationId

    await a.transport.crash()
    // A newcomer starts a rebalance; b rejoins, and its JoinGroup is parked until a's session expires.
    const rejoinSent = new Promise<void>((resolve) => {
      b.transport.onSend = (api) => {
        if (api === 'JoinGroup') resolve()
      }
    })
    start('c')
    await rejoinSent
    const askedAt = performance.now()
    await b.member.commit(owned.map((tp) => ({ ...tp, offset: 7n })), { timeoutMs: WAIT_MS })
    const tookMs = performance.now() - askedAt

    assert.equal(b.member.state, 'joining', 'the commit was answered while the rebalance was still waiting for the crashed member')
    assert.equal(b.member.generationId, generation, 'under the generation b held')
    assert.ok(tookMs < SESSION_MS / 2, `answered at once, not after the crashed member's session (took ${Math.round(tookMs)} ms)`)
    const stored = await b.member.committed(owned)
    assert.deepEqual(stored.map((c) => c.offset), owned.map(() => 7n), 'the offsets are stored')
  })
  it('a member closed while its JoinGroup is parked revokes (its commit stored), leaves at once, and does not hold up the others', async () => {
    const groupId = 'parked-close-group'
    const revoked: string[] = []
    // The hook commits through the member it is given to, which exists only once start() returns.
    const committer: { member?: GroupMember } = {}
    const hooks: RebalanceHooks = {
      onRevoke: async (partitions) => {
        const owned = flatten(partitions)
        revoked.push(...owned.map((tp) => `${tp.topic}[${tp.partition}]`))
        await committer.member?.commit(owned.map((tp) => ({ ...tp, offset: 9n })), { timeoutMs: WAIT_MS })
      },
    }
    const a = start('a', groupId)
    await reaches(a.member, 'stable')
    const b = start('b', groupId, hooks)
    committer.member = b.member
    await split(a.member, b.member)
    const owned = flatten(b.member.assignment())

    await a.transport.crash()
    const rejoinSent = new Promise<void>((resolve) => {
      b.transport.onSend = (api) => {
        if (api === 'JoinGroup') resolve()
      }
    })
    const c = start('c', groupId)
    await rejoinSent
    const askedAt = performance.now()
    await b.member.close()
    const tookMs = performance.now() - askedAt
    // Before, the close waited for the parked JoinGroup: a's whole session, then a sync and the leave.
    assert.ok(tookMs < SESSION_MS / 2, `closed at once, not after the crashed member's session (took ${Math.round(tookMs)} ms)`)
    assert.deepEqual(revoked.sort(), owned.map((tp) => `${tp.topic}[${tp.partition}]`).sort(), 'what b owned went through onRevoke')
    assert.equal(b.member.state, 'closed')
    // b left: once a's session expires, c gets every partition without waiting for b's session too.
    await reaches(c.member, 'stable')
    assert.equal(flatten(c.member.assignment()).length, 4)
    const stored = await c.member.committed(owned)
    assert.deepEqual(stored.map((s) => s.offset), owned.map(() => 9n), 'the commit made in onRevoke is stored')
  })
})
