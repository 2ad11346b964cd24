/**
 * A consumer group seen from outside, with its lag: what `baton groups describe` prints and the
 * console charts. The figures follow Kafka's kafka-consumer-groups.sh --describe:
 *
 * - every partition the group has a committed offset for, and every partition a member is assigned;
 * - the end offset is the partition's latest offset (ListOffsets latest, read_uncommitted);
 * - lag = end offset - committed offset, unknown ('-') without a committed offset;
 * - a partition no member holds shows no consumer.
 *
 * Classic groups are read with DescribeGroups (assignments decoded from the consumer protocol;
 * groups of other protocol types have no partitions to show), KIP-848 groups with
 * ConsumerGroupDescribe.
 */
import { partitionKey } from '../../protocol/topic-partition.js'
import { decodeAssignment } from '../membership/consumer-protocol.js'
import type { Admin } from './admin.js'

export interface GroupMemberView {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  assignment: Array<{ topic: string; partition: number }>
}

export interface PartitionLagView {
  topic: string
  partition: number
  /** null when the group has no committed offset for it. */
  committedOffset: bigint | null
  endOffset: bigint
  /** null when there is no committed offset. */
  lag: bigint | null
  /** The member holding it, or null. */
  memberId: string | null
  clientId: string | null
  clientHost: string | null
}

export interface ConsumerGroupView {
  groupId: string
  state: string
  /** 'classic' (JoinGroup/SyncGroup) or 'consumer' (KIP-848). */
  protocol: 'classic' | 'consumer'
  protocolType: string
  /** The assignor (classic: the protocol the group agreed on; KIP-848: the server assignor). */
  assignor: string
  /** KIP-848 groups report their epoch; classic DescribeGroups has no generation. */
  groupEpoch: number | null
  members: GroupMemberView[]
  partitions: PartitionLagView[]
  /** Sum of the known lags. */
  totalLag: bigint
}

export async function describeGroupLag(admin: Admin, groupId: string): Promise<ConsumerGroupView> {
  const modern = await admin.describeConsumerGroup(groupId)
  let view: Omit<ConsumerGroupView, 'partitions' | 'totalLag'>
  if (modern !== null) {
    view = {
      groupId,
      state: modern.state,
      protocol: 'consumer',
      protocolType: 'consumer',
      assignor: modern.assignor,
      groupEpoch: modern.groupEpoch,
      members: modern.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: m.assignment.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))),
      })),
    }
  } else {
    const [described] = await admin.describeGroups([groupId])
    const g = described!
    view = {
      groupId,
      state: g.state,
      protocol: 'classic',
      protocolType: g.protocolType,
      assignor: g.protocol,
      groupEpoch: null,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: g.protocolType === 'consumer' ? assignmentOf(m.assignment) : [],
      })),
    }
  }
  const committed = await admin.fetchOffsets(groupId)
  const rows = new Map<string, PartitionLagView>()
  const row = (topic: string, partition: number): PartitionLagView => {
    let r = rows.get(partitionKey(topic, partition))
    if (r === undefined) {
      r = { topic, partition, committedOffset: null, endOffset: -1n, lag: null, memberId: null, clientId: null, clientHost: null }
      rows.set(partitionKey(topic, partition), r)
    }
    return r
  }
  for (const c of committed) if (c.offset >= 0n) row(c.topic, c.partition).committedOffset = c.offset
  for (const m of view.members) {
    for (const tp of m.assignment) Object.assign(row(tp.topic, tp.partition), { memberId: m.memberId, clientId: m.clientId, clientHost: m.clientHost })
  }
  const topics = [...new Set([...rows.values()].map((r) => r.topic))]
  const ends = await Promise.all(topics.map(async (topic) => ({ topic, offsets: await admin.listOffsets(topic, 'latest').catch(() => []) })))
  for (const { topic, offsets } of ends) {
    for (const o of offsets) {
      const r = rows.get(partitionKey(topic, o.partition))
      if (r !== undefined) r.endOffset = o.offset
    }
  }
  let totalLag = 0n
  for (const r of rows.values()) {
    if (r.committedOffset !== null && r.endOffset >= 0n) {
      // A committed offset above the end (records deleted, a reset ahead) is no lag, as in Kafka's tool.
      r.lag = r.endOffset > r.committedOffset ? r.endOffset - r.committedOffset : 0n
      totalLag += r.lag
    }
  }
  const partitions = [...rows.values()].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1))
  return { ...view, partitions, totalLag }
}

function assignmentOf(bytes: Buffer): Array<{ topic: string; partition: number }> {
  if (bytes.length === 0) return []
  try {
    return decodeAssignment(bytes).partitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })))
  } catch {
    // A member whose assignment is not in the consumer protocol's format (another client's custom protocol).
    return []
  }
}
