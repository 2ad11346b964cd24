/**
 * Group requests over a real socket for the broker tests, built on the broker tests' TestConnection:
 * a member that joins (with the MEMBER_ID_REQUIRED round trip), syncs and heartbeats, at the
 * newest versions unless told otherwise.
 */
import { JoinGroup, SyncGroup, type JoinGroupResponse } from '../../../../src/protocol/generated/index.js'
import { KafkaErrorCode } from '../../../../src/protocol/errors/kafka-errors.js'
import type { TestConnection } from '../../helpers/connection.js'
import { subscription } from './harness.js'

export interface JoinOptions {
  groupId: string
  memberId?: string
  groupInstanceId?: string | null
  topics?: string[]
  sessionTimeoutMs?: number
  rebalanceTimeoutMs?: number
  timeoutMs?: number
}

/** One JoinGroup v9 request, as sent. */
export function joinOnce(conn: TestConnection, options: JoinOptions): Promise<JoinGroupResponse> {
  return conn.request(
    JoinGroup,
    9,
    {
      groupId: options.groupId,
      memberId: options.memberId ?? '',
      groupInstanceId: options.groupInstanceId ?? null,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 5_000,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: subscription(options.topics ?? ['t']) }],
    },
    options.timeoutMs ?? 5000,
  )
}

/** Joins as a new dynamic member: the first JoinGroup must ask for a member id, the second joins. */
export async function joinNew(conn: TestConnection, options: JoinOptions): Promise<JoinGroupResponse> {
  const first = await joinOnce(conn, { ...options, memberId: '' })
  if (first.errorCode !== KafkaErrorCode.MEMBER_ID_REQUIRED) throw new Error(`expected MEMBER_ID_REQUIRED, got error ${first.errorCode}`)
  return joinOnce(conn, { ...options, memberId: first.memberId })
}

export function syncAs(conn: TestConnection, groupId: string, joined: JoinGroupResponse, assignments: { memberId: string; assignment: Buffer }[] = []) {
  return conn.request(SyncGroup, 5, {
    groupId,
    generationId: joined.generationId,
    memberId: joined.memberId,
    protocolType: 'consumer',
    protocolName: joined.protocolName,
    assignments,
  })
}
