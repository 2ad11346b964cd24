/**
 * `baton broker` as a child process, so that it can be killed the way a real broker dies (SIGKILL:
 * no flush, no goodbye to clients) and started again on the same port and `--data`. The chaos runs
 * and the restart tests use it; an in-process broker cannot be killed without killing the test.
 *
 * The next process is always started ahead, warm and waiting (`src/cli/warm-broker.ts`), so that a restart
 * costs the broker's own start-up (loading its data, binding the port), not Node's and tsx's.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { LabError } from '../errors.js'
import { entryArgs } from './entry.js'

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
  /** How long to wait for the listening line. Default 120 s (a loaded machine is slow to start Node). */
  readonly startTimeoutMs?: number
}

interface Spare {
  readonly child: ChildProcess
  /** The exit code, or the signal that ended the process. */
  readonly exited: Promise<number | NodeJS.Signals | null>
  readonly stdout: ReturnType<typeof createInterface>
}

export class BrokerProcess {
  private current: Spare | undefined
  private spare: Spare | undefined
  private boundPort: number

  private constructor(private readonly options: BrokerProcessOptions) {
    this.boundPort = options.port ?? 0
  }

  /** Starts a broker and resolves once it accepts connections. */
  static async start(options: BrokerProcessOptions): Promise<BrokerProcess> {
    const broker = new BrokerProcess(options)
    try {
      await broker.restart()
    } catch (error) {
      // Nothing may outlive a start that failed: a child left running would keep its parent alive.
      await broker.stop(0)
      throw error
    }
    return broker
  }

  get bootstrap(): string[] {
    return [`127.0.0.1:${this.boundPort}`]
  }

  get pid(): number | undefined {
    return this.current?.child.pid
  }

  get running(): boolean {
    return this.current !== undefined
  }

  /** Starts the broker again on the same port and data; the previous process must have exited. */
  async restart(): Promise<void> {
    if (this.current !== undefined) throw new LabError('the broker process is still running; kill it before restarting it')
    const next = this.spare ?? this.spawnSpare()
    this.spare = undefined
    this.current = next
    void next.exited.then(() => {
      if (this.current === next) this.current = undefined
    })
    const args = ['--port', String(this.boundPort), '--data', this.options.dataDir, '--log-level', 'warn']
    if (this.options.partitions !== undefined) args.push('--partitions', String(this.options.partitions))
    args.push(...(this.options.args ?? []))
    next.child.stdin!.write(JSON.stringify(args) + '\n')
    const bootstrap = await new Promise<string>((resolve, reject) => {
      const timeoutMs = this.options.startTimeoutMs ?? 120_000
      const timer = setTimeout(() => reject(new LabError(`baton broker printed no listening line within ${timeoutMs} ms`)), timeoutMs)
      void next.exited.then((how) => {
        clearTimeout(timer)
        const ended = typeof how === 'string' ? `was killed by ${how}` : `exited with code ${how}`
        reject(new LabError(`baton broker ${ended} before listening; its stderr (broker.log in the run's folder) says why`))
      })
      next.stdout.on('line', (line) => {
        if (!line.startsWith(LISTENING)) return
        clearTimeout(timer)
        resolve(line.slice(LISTENING.length).split(',')[0]!)
      })
    })
    this.boundPort = Number(bootstrap.slice(bootstrap.lastIndexOf(':') + 1))
    this.spare = this.spawnSpare()
  }

  /** Sends `signal` and resolves once the process has exited (at once if it is not running). */
  async kill(signal: NodeJS.Signals): Promise<void> {
    const current = this.current
    if (current === undefined) return
    current.child.kill(signal)
    await current.exited
  }

  /** SIGTERM (a clean stop), then SIGKILL if it has not exited within `graceMs`; the spare goes too. */
  async stop(graceMs = 10_000): Promise<void> {
    const spare = this.spare
    this.spare = undefined
    spare?.child.kill('SIGKILL')
    const current = this.current
    if (current !== undefined) {
      const timer = setTimeout(() => current.child.kill('SIGKILL'), graceMs)
      await this.kill('SIGTERM')
      clearTimeout(timer)
    }
    await spare?.exited
  }

  private spawnSpare(): Spare {
    const child = spawn(process.execPath, entryArgs('../../cli/warm-broker'), { stdio: ['pipe', 'pipe', 'pipe'] })
    const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)))
    createInterface({ input: child.stderr }).on('line', (line) => this.options.stderr?.(line))
    // A spare killed before it starts has stdin closed under it; that is not worth a crash.
    child.stdin.on('error', () => undefined)
    return { child, exited, stdout: createInterface({ input: child.stdout }) }
  }
}
