/**
 * A scripted transaction coordinator on top of the client tests' MockCluster: InitProducerId with a
 * transactional id (allocate, bump the epoch, fence older epochs), AddPartitionsToTxn,
 * AddOffsetsToTxn, TxnOffsetCommit and EndTxn, with a journal of what happened in order and a way
 * to fail the next requests of an API with a given error code.
 *
 * It remains for one reason: the journal records what each request carried (which partitions went
 * in one AddPartitionsToTxn, the group metadata of a TxnOffsetCommit, the producer id and epoch of
 * an InitProducerId), and that is what transactional-producer-requests.test.ts asserts; the
 * embedded broker, the real coordinator, keeps no such record for a test. Everything else about
 * the transactional producer runs against the embedded broker.
 */
import type { ApiSpec } from '../../../src/protocol/codec-runtime.js'
import { AddOffsetsToTxn, AddPartitionsToTxn, EndTxn, FindCoordinator, InitProducerId, Produce, TxnOffsetCommit } from '../../../src/protocol/generated/index.js'
import { RecordBatchView } from '../../../src/protocol/records/index.js'
import type { MockCluster } from './mock-cluster.js'

interface TxnState {
  producerId: bigint
  epoch: number
  partitions: Set<string>
  groups: Set<string>
  open: boolean
}

export class MockTxnCoordinator {
  /** What happened, in order: `init tx-1 pid=1000 epoch=0`, `add t-0,t-1`, `produce t-0`, `offsets g1 gen=3`, `end commit`. */
  readonly journal: string[] = []
  readonly transactions = new Map<string, TxnState>()
  /** Committed transactional offsets: `group/topic-partition` -> offset. */
  readonly offsets = new Map<string, bigint>()
  private readonly failures = new Map<number, number[]>()
  private nextProducerId = 5000n
  /** Node that coordinates; tests move it to check NOT_COORDINATOR handling. */
  coordinatorNode = 0

  constructor(private readonly cluster: MockCluster) {
    for (const [nodeId, node] of cluster.nodes.entries()) {
      const coordinatorOnly = <Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, handle: (body: Req, version: number) => ResInit, refusal: (code: number) => ResInit): void => {
        node.on(api, (request) => {
          const injected = this.failures.get(api.apiKey)?.shift()
          if (injected !== undefined) return refusal(injected)
          if (nodeId !== this.coordinatorNode && api.apiKey !== TxnOffsetCommit.apiKey) return refusal(16) // NOT_COORDINATOR
          return handle(request.body, request.version)
        })
      }
      node.on(FindCoordinator, () => {
        this.journal.push(`find-coordinator`)
        const target = cluster.nodes[this.coordinatorNode]!
        return { errorCode: 0, nodeId: this.coordinatorNode, host: target.host, port: target.port }
      })
      coordinatorOnly(InitProducerId, (body) => this.init(body.transactionalId, body.producerId, body.producerEpoch), (errorCode) => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 }))
      coordinatorOnly(
        AddPartitionsToTxn,
        (body) => {
          const check = this.check(body.v3AndBelowTransactionalId, body.v3AndBelowProducerId, body.v3AndBelowProducerEpoch)
          const names = body.v3AndBelowTopics.flatMap((t) => t.partitions.map((p) => `${t.name}-${p}`))
          if (check === 0) {
            const txn = this.transactions.get(body.v3AndBelowTransactionalId)!
            for (const n of names) txn.partitions.add(n)
            txn.open = true
            this.journal.push(`add ${names.join(',')}`)
          }
          return {
            throttleTimeMs: 0,
            resultsByTopicV3AndBelow: body.v3AndBelowTopics.map((t) => ({ name: t.name, resultsByPartition: t.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: check })) })),
          }
        },
        (errorCode) => ({ throttleTimeMs: 0, resultsByTopicV3AndBelow: [{ name: 't', resultsByPartition: [{ partitionIndex: 0, partitionErrorCode: errorCode }] }] }),
      )
      coordinatorOnly(
        AddOffsetsToTxn,
        (body) => {
          const errorCode = this.check(body.transactionalId, body.producerId, body.producerEpoch)
          if (errorCode === 0) {
            const txn = this.transactions.get(body.transactionalId)!
            txn.groups.add(body.groupId)
            txn.open = true
            this.journal.push(`add-offsets ${body.groupId}`)
          }
          return { throttleTimeMs: 0, errorCode }
        },
        (errorCode) => ({ throttleTimeMs: 0, errorCode }),
      )
      coordinatorOnly(
        TxnOffsetCommit,
        (body) => {
          this.journal.push(`offsets ${body.groupId} gen=${body.generationId} member=${body.memberId} instance=${body.groupInstanceId}`)
          for (const t of body.topics) for (const p of t.partitions) this.offsets.set(`${body.groupId}/${t.name}-${p.partitionIndex}`, p.committedOffset)
          return { throttleTimeMs: 0, topics: body.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: 0 })) })) }
        },
        (errorCode) => ({ throttleTimeMs: 0, topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode }] }] }),
      )
      coordinatorOnly(
        EndTxn,
        (body) => {
          const errorCode = this.check(body.transactionalId, body.producerId, body.producerEpoch)
          if (errorCode !== 0) return { throttleTimeMs: 0, errorCode }
          const txn = this.transactions.get(body.transactionalId)!
          if (!txn.open) return { throttleTimeMs: 0, errorCode: 48 } // INVALID_TXN_STATE
          this.journal.push(`end ${body.committed ? 'commit' : 'abort'}`)
          txn.open = false
          txn.partitions.clear()
          txn.groups.clear()
          return { throttleTimeMs: 0, errorCode: 0 }
        },
        (errorCode) => ({ throttleTimeMs: 0, errorCode }),
      )
    }
    // Produce goes through the cluster's own handler; note transactional batches in the journal first.
    cluster.fault(Produce, (request) => {
      const body = request.body as { transactionalId: string | null; topicData: Array<{ name: string; partitionData: Array<{ index: number; records: Buffer | null }> }> }
      for (const t of body.topicData) {
        for (const p of t.partitionData) {
          const view = RecordBatchView.at(p.records!, 0)
          if (view.isTransactional) this.journal.push(`produce ${t.name}-${p.index} txn=${body.transactionalId} epoch=${view.producerEpoch}`)
        }
      }
      const injected = this.failures.get(Produce.apiKey)?.shift()
      if (injected === undefined) return undefined
      return { responses: body.topicData.map((t) => ({ name: t.name, partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: injected, baseOffset: -1n })) })) }
    })
  }

  /** The next `count` requests of `api` (to any node) are refused with `errorCode`. */
  failNext(api: ApiSpec, errorCode: number, count = 1): void {
    const list = this.failures.get(api.apiKey) ?? []
    for (let i = 0; i < count; i++) list.push(errorCode)
    this.failures.set(api.apiKey, list)
  }

  private init(transactionalId: string | null, producerId: bigint, producerEpoch: number) {
    if (transactionalId === null) return { throttleTimeMs: 0, errorCode: 0, producerId: this.nextProducerId++, producerEpoch: 0 }
    let txn = this.transactions.get(transactionalId)
    if (txn === undefined) {
      txn = { producerId: this.nextProducerId++, epoch: 0, partitions: new Set(), groups: new Set(), open: false }
      this.transactions.set(transactionalId, txn)
    } else {
      if (producerId >= 0n && (producerId !== txn.producerId || producerEpoch !== txn.epoch)) return { throttleTimeMs: 0, errorCode: 90, producerId: -1n, producerEpoch: -1 }
      if (txn.open) this.journal.push('end abort (fenced the previous epoch)')
      txn.open = false
      txn.partitions.clear()
      txn.epoch++
    }
    this.journal.push(`init ${transactionalId} pid=${txn.producerId} epoch=${txn.epoch}${producerId >= 0n ? ` (bump from ${producerEpoch})` : ''}`)
    return { throttleTimeMs: 0, errorCode: 0, producerId: txn.producerId, producerEpoch: txn.epoch }
  }

  /** 0, or PRODUCER_FENCED for an older epoch, or INVALID_PRODUCER_ID_MAPPING for an unknown id. */
  private check(transactionalId: string, producerId: bigint, epoch: number): number {
    const txn = this.transactions.get(transactionalId)
    if (txn === undefined || txn.producerId !== producerId) return 49
    if (epoch < txn.epoch) return 90
    return 0
  }
}
