import { InvalidArgumentError } from 'commander'

/** A commander parser for an integer flag within bounds, with a message that names the flag. */
export function integerOption(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be an integer from ${min} to ${max}, got "${value}"`)
    }
    return n
  }
}
