import { corruptRecords } from './corrupt.js'
import type { ControlRecord, DecodedRecord } from './types.js'

/**
 * Control records (KIP-98): the single record of a control batch. Its key is
 * version int16 + type int16; for the end-transaction types, its value is
 * version int16 + coordinatorEpoch int32.
 */
export const CONTROL_TYPE_ABORT = 0
export const CONTROL_TYPE_COMMIT = 1
export const CONTROL_KEY_VERSION = 0
export const END_TRANSACTION_MARKER_VERSION = 0

const CONTROL_KEY_BYTES = 4
const END_TRANSACTION_VALUE_BYTES = 6

export function encodeControlRecordKey(typeId: number): Buffer {
  const key = Buffer.allocUnsafe(CONTROL_KEY_BYTES)
  key.writeInt16BE(CONTROL_KEY_VERSION, 0)
  key.writeInt16BE(typeId, 2)
  return key
}

export function encodeEndTransactionMarkerValue(coordinatorEpoch: number): Buffer {
  const value = Buffer.allocUnsafe(END_TRANSACTION_VALUE_BYTES)
  value.writeInt16BE(END_TRANSACTION_MARKER_VERSION, 0)
  value.writeInt32BE(coordinatorEpoch, 2)
  return value
}

/** Reads a record of a control batch. Unknown types are kept raw: newer brokers add types (KIP-595). */
export function decodeControlRecord(record: DecodedRecord): ControlRecord {
  const { key, value, offset, timestamp } = record
  if (key === null || key.length < CONTROL_KEY_BYTES) {
    throw corruptRecords(`control record at offset ${offset} has a ${key === null ? 'null' : `${key.length}-byte`} key`)
  }
  const keyVersion = key.readInt16BE(0)
  const typeId = key.readInt16BE(2)
  if (typeId !== CONTROL_TYPE_ABORT && typeId !== CONTROL_TYPE_COMMIT) {
    return { type: 'unknown', typeId, offset, timestamp, keyVersion, key, value }
  }
  // Later value versions may append fields; the first two keep their place.
  if (value === null || value.length < END_TRANSACTION_VALUE_BYTES) {
    throw corruptRecords(`end transaction marker at offset ${offset} has a ${value === null ? 'null' : `${value.length}-byte`} value`)
  }
  return {
    type: typeId === CONTROL_TYPE_ABORT ? 'abort' : 'commit',
    offset,
    timestamp,
    keyVersion,
    valueVersion: value.readInt16BE(0),
    coordinatorEpoch: value.readInt32BE(2),
  }
}
