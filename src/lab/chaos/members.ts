/**
 * The parent's side of the chaos members: starting member processes, signalling them, and knowing
 * when each died. Each member logs to `<name>.log` and writes events to `<name>.jsonl` in the run's
 * folder.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { join } from 'node:path'
import { entryArgs } from './entry.js'
import type { MemberSettings } from './member-main.js'

export class MemberProcess {
  readonly exited: Promise<number | null>
  private alive = true
  /** A SIGTERM was sent: the member is handing its partitions off. */
  stopping = false
  /** SIGSTOPped and not yet woken: a zombie to be. */
  frozen = false

  private constructor(
    readonly name: string,
    readonly eventsFile: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.alive = false
        resolve(signal === null ? code : null)
      }),
    )
  }

  static start(dir: string, settings: Omit<MemberSettings, 'eventsFile'>): MemberProcess {
    const eventsFile = join(dir, `${settings.name}.jsonl`)
    const log = openSync(join(dir, `${settings.name}.log`), 'a')
    try {
      const child = spawn(process.execPath, [...entryArgs('./member-main'), JSON.stringify({ ...settings, eventsFile })], { stdio: ['ignore', log, log] })
      return new MemberProcess(settings.name, eventsFile, child)
    } finally {
      closeSync(log)
    }
  }

  get running(): boolean {
    return this.alive
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.alive) return
    if (signal === 'SIGTERM') this.stopping = true
    if (signal === 'SIGSTOP') this.frozen = true
    if (signal === 'SIGCONT') this.frozen = false
    this.child.kill(signal)
  }
}
