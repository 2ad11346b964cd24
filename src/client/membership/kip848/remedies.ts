/**
 * ConsumerGroupHeartbeat errors after which joining again cannot help, each with what to do about
 * it; the member stops with the remedy in its error.
 */
import { KafkaErrorCode } from '../../../protocol/errors/kafka-errors.js'

/** Errors after which joining again cannot help; each gets a remedy. */
export const FATAL_REMEDY: ReadonlyMap<number, string> = new Map([
  [KafkaErrorCode.GROUP_ID_NOT_FOUND, 'the group id belongs to a classic group that still has members; stop them, or use groupProtocol "classic"'],
  [KafkaErrorCode.UNSUPPORTED_ASSIGNOR, 'the coordinator does not have that serverAssignor; use "uniform" or "range"'],
  [KafkaErrorCode.UNRELEASED_INSTANCE_ID, 'another member with this groupInstanceId is still in the group; give each process its own groupInstanceId'],
  [KafkaErrorCode.FENCED_INSTANCE_ID, 'another member took this groupInstanceId; give each process its own groupInstanceId'],
  [KafkaErrorCode.INVALID_REGULAR_EXPRESSION, 'the coordinator cannot compile the subscription pattern; simplify it (RE2 syntax)'],
  [KafkaErrorCode.GROUP_MAX_SIZE_REACHED, 'the group is at the coordinator\'s group.consumer.max.size'],
])

