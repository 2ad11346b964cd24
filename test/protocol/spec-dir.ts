import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Kafka's JSON message specs, which sit in `shared/` beside the project checkout. */
export const SPEC_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'kafka-protocol', 'messages')
