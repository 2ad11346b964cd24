import { BatonError } from '../client/index.js'

/** A lab option or membership script that cannot be run; the message says which and why. */
export class LabConfigError extends BatonError {
  constructor(message: string) {
    super('LAB_INVALID_CONFIG', message)
  }
}
