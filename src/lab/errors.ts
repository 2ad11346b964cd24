import { BatonError } from '../client/index.js'

/** A lab option or membership script that cannot be run; the message says which and why. */
export class LabConfigError extends BatonError {
  constructor(message: string) {
    super('LAB_INVALID_CONFIG', message)
  }
}

/** A lab or chaos run that could not go on (a process that would not start, a run that never drained). */
export class LabError extends BatonError {
  constructor(message: string, options?: ErrorOptions) {
    super('LAB_RUN_FAILED', message, options)
  }
}
