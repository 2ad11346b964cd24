/**
 * What a chaos member writes about itself, one JSON object a line, with `writeSync`: a line is in
 * the operating system's hands before the member goes on, so a SIGKILL loses nothing it wrote. An
 * effect line is the record's side effect itself (the ground truth for duplicates and losses), written
 * when the handler's work completes; aborted work writes nothing.
 */
import { closeSync, existsSync, openSync, readSync, fstatSync, writeSync } from 'node:fs'

export type MemberEvent =
  | { readonly e: 'started'; readonly t: number; readonly pid: number }
  | { readonly e: 'effect'; readonly t: number; readonly id: number; readonly p: number; readonly o: number }
  | { readonly e: 'assigned'; readonly t: number; readonly ps: readonly number[] }
  | { readonly e: 'revoked'; readonly t: number; readonly ps: readonly number[]; readonly commitFailed: boolean }
  | { readonly e: 'lost'; readonly t: number; readonly ps: readonly number[] }
  | { readonly e: 'exit'; readonly t: number; readonly code: number; readonly reason: string }

export class EventWriter {
  private readonly fd: number

  constructor(path: string) {
    this.fd = openSync(path, 'a')
  }

  write(event: MemberEvent): void {
    const line = Buffer.from(JSON.stringify(event) + '\n')
    let written = 0
    while (written < line.length) written += writeSync(this.fd, line, written, line.length - written)
  }

  close(): void {
    closeSync(this.fd)
  }
}

/** Reads a member's event file as it grows: each call returns the whole lines written since the last. */
export class EventReader {
  private position = 0
  private rest = ''

  constructor(private readonly path: string) {}

  readNew(): MemberEvent[] {
    if (!existsSync(this.path)) return []
    const fd = openSync(this.path, 'r')
    try {
      const size = fstatSync(fd).size
      if (size <= this.position) return []
      const buffer = Buffer.allocUnsafe(size - this.position)
      let read = 0
      while (read < buffer.length) {
        const n = readSync(fd, buffer, read, buffer.length - read, this.position + read)
        if (n === 0) break
        read += n
      }
      this.position += read
      const text = this.rest + buffer.subarray(0, read).toString('utf8')
      const lines = text.split('\n')
      // A line without its newline yet is finished by a later write (a killed member never finishes it).
      this.rest = lines.pop() ?? ''
      return lines.filter((l) => l !== '').map((l) => JSON.parse(l) as MemberEvent)
    } finally {
      closeSync(fd)
    }
  }
}
