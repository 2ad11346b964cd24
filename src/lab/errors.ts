import { BatonError } from '../protocol/errors/base.js'

/** A lab option or membership script that cannot be run; the message says which and why. */
export class LabConfigError extends BatonError {
  constructor(message: string) {
    super('LAB_INVALID_CONFIG', message)
  }
}
