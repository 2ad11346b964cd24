/**
 * librdkafka KIP-848 members as child processes (rdkafka-kip848-member.ts), and the checks their
 * time-stamped events allow across processes: each partition has at most one owner at any moment,
 * and every record a member reads belongs to a partition it owns at that moment.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export interface MemberEvent {
  readonly member: string
  readonly ev: 'started' | 'assign' | 'revoke' | 'data' | 'error' | 'closed'
  readonly t: number
  readonly partitions?: number[]
  readonly partition?: number
  readonly value?: string
  readonly message?: string
}

const SCRIPT = fileURLToPath(new URL('./rdkafka-kip848-member.ts', import.meta.url))

export class MemberProcess {
  readonly owned = new Set<number>()
  private readonly child: ChildProcess
  private exited: Promise<void>

  constructor(
    readonly name: string,
    bootstrap: string,
    groupId: string,
    topic: string,
    private readonly log: MemberEvent[],
    assignor?: string,
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, bootstrap, groupId, topic, ...(assignor === undefined ? [] : [assignor])], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()))
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const event = { member: name, ...(JSON.parse(line) as Omit<MemberEvent, 'member'>) }
      if (event.ev === 'assign') for (const p of event.partitions ?? []) this.owned.add(p)
      if (event.ev === 'revoke') for (const p of event.partitions ?? []) this.owned.delete(p)
      log.push(event)
    })
  }

  /** Leaves the group gracefully and waits for the process to end. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    // A librdkafka close that hangs must not hang the test: it is killed after 15 s.
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000)
    await this.exited
    clearTimeout(timer)
  }

  /** Dies without a word: the coordinator notices when its session expires. */
  async crash(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
    await this.exited
  }
}

/**
 * Violations of "one owner at a time" and "only owners read", from events ordered by time. A
 * member's ownership of a partition starts at its assign event and ends at its revoke event (or its
 * last event, for a member that crashed).
 */
export function ownershipViolations(log: readonly MemberEvent[]): string[] {
  const events = [...log].sort((a, b) => a.t - b.t)
  const owner = new Map<number, string>()
  const violations: string[] = []
  for (const e of events) {
    if (e.ev === 'assign') {
      for (const p of e.partitions ?? []) {
        const current = owner.get(p)
        if (current !== undefined && current !== e.member) violations.push(`partition ${p} assigned to ${e.member} while ${current} owns it`)
        owner.set(p, e.member)
      }
    } else if (e.ev === 'revoke') {
      for (const p of e.partitions ?? []) if (owner.get(p) === e.member) owner.delete(p)
    } else if (e.ev === 'data' && owner.get(e.partition!) !== e.member) {
      violations.push(`${e.member} read a record of partition ${e.partition} owned by ${owner.get(e.partition!) ?? 'nobody'}`)
    }
  }
  return violations
}

/** Forgets a crashed member's ownership in the log (its partitions are nobody's from `t`). */
export function crashed(log: MemberEvent[], member: string, owned: Iterable<number>): void {
  log.push({ member, ev: 'revoke', partitions: [...owned], t: performance.timeOrigin + performance.now() })
}
