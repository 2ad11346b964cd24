/**
 * A `baton broker` process started ahead of need (the chaos harness's warm spare, `lab/chaos/broker-process.ts`): it loads the command's modules, then waits for
 * its arguments on stdin and runs the real `baton broker` command with them. Loading takes seconds
 * on a busy machine (tsx compiles the sources), which would turn a broker "down for 1.5 s" into one
 * down for five; a restart with a warm spare is down for as long as the run says. If the parent
 * goes away first (stdin ends), it exits without starting.
 */
import { createInterface } from 'node:readline'

// Everything the command line imports (not main itself, which runs the command on import).
await Promise.all([import('./broker-command.js'), import('./lab-command.js'), import('./chaos-command.js')])
const lines = createInterface({ input: process.stdin })
const args = await new Promise<string[] | undefined>((resolve) => {
  lines.once('line', (line) => resolve(JSON.parse(line) as string[]))
  lines.once('close', () => resolve(undefined))
})
if (args === undefined) process.exit(0)
lines.close()
process.argv = [process.argv[0]!, 'baton', 'broker', ...args]
await import('./main.js')
