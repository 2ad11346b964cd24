/**
 * `baton broker` as a child process, so that it can be killed the way a real broker dies (SIGKILL:
 * no flush, no goodbye to clients) and started again on the same port and `--data`. The chaos runs
 * and the restart tests use it; an in-process broker cannot be killed without killing the test.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { LabError } from '../errors.js'

const BIN = fileURLToPath(new URL('../../../bin/baton.js', import.meta.url))
const LISTENING = 'baton broker listening on '

export interface BrokerProcessOptions {
  readonly dataDir: string
  /** 0 picks a free port the first time; restarts reuse the port first bound. */
  readonly port?: number
  readonly partitions?: number
  /** Extra `baton broker` flags. */
  readonly args?: readonly string[]
  /** Where the broker's stderr goes; discarded by default. */
  readonly stderr?: (line: string) => void
  /** How long to wait for the listening line. Default 30 s. */
  readonly startTimeoutMs?: number
}

export class BrokerProcess {
  private child: ChildProcess | undefined
  private exited: Promise<number | null> = Promise.resolve(null)
  private boundPort: number

  private constructor(private readonly options: BrokerProcessOptions) {
    this.boundPort = options.port ?? 0
  }

  /** Starts a broker and resolves once it accepts connections. */
  static async start(options: BrokerProcessOptions): Promise<BrokerProcess> {
    const broker = new BrokerProcess(options)
    await broker.restart()
    return broker
  }

  get bootstrap(): string[] {
    return [`127.0.0.1:${this.boundPort}`]
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  get running(): boolean {
    return this.child !== undefined
  }

  /** Starts the broker again on the same port and data; the previous process must have exited. */
  async restart(): Promise<void> {
    if (this.child !== undefined) throw new LabError('the broker process is still running; kill it before restarting it')
    const args = [BIN, 'broker', '--port', String(this.boundPort), '--data', this.options.dataDir, '--log-level', 'warn']
    if (this.options.partitions !== undefined) args.push('--partitions', String(this.options.partitions))
    args.push(...(this.options.args ?? []))
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
    void this.exited.then(() => {
      if (this.child === child) this.child = undefined
    })
    const stderrLines: string[] = []
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (stderrLines.length < 20) stderrLines.push(line)
      this.options.stderr?.(line)
    })
    const bootstrap = await new Promise<string>((resolve, reject) => {
      const timeoutMs = this.options.startTimeoutMs ?? 30_000
      const timer = setTimeout(() => reject(new LabError(`baton broker printed no listening line within ${timeoutMs} ms`)), timeoutMs)
      void this.exited.then((code) => {
        clearTimeout(timer)
        reject(new LabError(`baton broker exited with ${code} before listening: ${stderrLines.join(' | ')}`))
      })
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (!line.startsWith(LISTENING)) return
        clearTimeout(timer)
        resolve(line.slice(LISTENING.length).split(',')[0]!)
      })
    })
    this.boundPort = Number(bootstrap.slice(bootstrap.lastIndexOf(':') + 1))
  }

  /** Sends `signal` and resolves once the process has exited (at once if it is not running). */
  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child
    if (child === undefined) return
    child.kill(signal)
    await this.exited
  }

  /** SIGTERM (a clean stop), then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child
    if (child === undefined) return
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await this.kill('SIGTERM')
    clearTimeout(timer)
  }
}
