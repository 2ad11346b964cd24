/**
 * The root of every error baton throws. Branch on the subclass (`instanceof`) or on `code`,
 * never on the message text: messages are for people and may change.
 */
export class BatonError extends Error {
  /** A stable, machine-readable identifier such as `DECODE_TRUNCATED`. */
  readonly code: string

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/**
 * An option is missing, of the wrong type or out of range, in any layer: a client, a connection,
 * the broker or `baton()`. One class for all of them, so that one `instanceof` check catches a bad
 * client option passed through `baton({ kafka })` as well as a bad `baton()` option. `option`
 * names it (a path such as `kafka.sessionTimeoutMs` or `consume('orders').retries`); the message
 * says what would be valid.
 */
export class ConfigError extends BatonError {
  declare readonly code: 'CONFIG_INVALID'
  readonly option: string
  /** What is wrong and what would be valid, without the option's name (for re-raising under a longer path). */
  readonly reason: string

  constructor(option: string, message: string, options?: ErrorOptions) {
    super('CONFIG_INVALID', `invalid option ${option}: ${message}`, options)
    this.option = option
    this.reason = message
  }
}

export type DecodeErrorCode =
  | 'DECODE_TRUNCATED'
  | 'DECODE_NEGATIVE_LENGTH'
  | 'DECODE_VARINT_TOO_LONG'
  | 'DECODE_INVALID_VALUE'
  | 'DECODE_UNSUPPORTED_VERSION'
  | 'DECODE_UNKNOWN_API'
  | 'DECODE_CORRUPT_RECORDS'
  | 'DECODE_CRC_MISMATCH'
  | 'DECODE_COMPRESSION'
  | 'DECODE_TRAILING_BYTES'

/**
 * Bytes that cannot be decoded: truncated, inconsistent lengths, a bad CRC, a corrupt
 * compressed payload. The message names what was being read and at which byte offset, so a
 * captured frame can be matched against the failure.
 */
export class DecodeError extends BatonError {
  declare readonly code: DecodeErrorCode

  constructor(code: DecodeErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options)
  }
}

/** A value that cannot be represented on the wire (an int32 field given 2^40, a version a message lacks). */
export class EncodeError extends BatonError {
  constructor(message: string, options?: ErrorOptions) {
    super('ENCODE_INVALID_VALUE', message, options)
  }
}
