/** Errors of store mode; branch on the class or its `code`. */
import { BatonError } from '../../client/index.js'

/**
 * The database refused this member's write for a partition: another member claimed the partition
 * after this one did (a later generation), so this member is a zombie for it. The transaction,
 * the handler's effects included, was rolled back; the partition's owner redoes the records.
 */
export class StoreFencedError extends BatonError {
  readonly topic: string
  readonly partition: number

  constructor(topic: string, partition: number, detail: string) {
    super(
      'PROCESSING_STORE_FENCED',
      `store mode: the write for ${topic}[${partition}] was refused and rolled back: ${detail}. ` +
        'Another member owns the partition now and redoes these records; this member must stop processing it',
    )
    this.topic = topic
    this.partition = partition
  }
}
