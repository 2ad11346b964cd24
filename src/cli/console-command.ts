/** `baton console`: the live web console for consumer groups, served on loopback. */
import type { Command } from 'commander'
import { Admin } from '../client/index.js'
import { startConsole } from '../console/index.js'
import { addConnectionOptions, clientConfigOf, type ConnectionFlags } from './client-options.js'
import { EXIT_CODES_HELP, runCommand, usageExit } from './output.js'
import { integerOption } from './parse.js'

interface ConsoleFlags extends ConnectionFlags {
  port: number
  host: string
  interval: number
}

export function registerConsoleCommand(program: Command): void {
  addConnectionOptions(
    program
      .command('console')
      .exitOverride(usageExit).showHelpAfterError('(add --help for usage and examples)')
      .description('a live web page of the consumer groups: members, assignment, lag over time, rebalances, records per second')
      .option('--port <n>', 'HTTP port (0 picks a free one)', integerOption('--port', 0, 65535), 8080)
      .option('--host <host>', 'interface to serve on', '127.0.0.1')
      .option('--interval <ms>', 'how often the cluster is polled', integerOption('--interval', 100, 60_000), 1000),
  )
    .addHelpText(
      'after',
      `
Examples:
  baton console --brokers 127.0.0.1:9092             # then open http://127.0.0.1:8080/
  baton console --port 0 --config client.properties   # prints the URL it serves
Works for any consumer group (it reads the admin API only). Stop it with Ctrl-C.
${EXIT_CODES_HELP}`,
    )
    .action(async (flags: ConsoleFlags) => {
      await runCommand(flags.json, 'console', async () => {
        const config = clientConfigOf(flags)
        const admin = new Admin(config)
        await admin.connect()
        const server = await startConsole({ admin, bootstrap: typeof config.bootstrapServers === 'string' ? config.bootstrapServers.split(',') : [...config.bootstrapServers], port: flags.port, host: flags.host, intervalMs: flags.interval })
        console.log(`baton console serving ${server.url}`)
        await new Promise<void>((resolve) => {
          const stop = (): void => resolve()
          process.once('SIGINT', stop)
          process.once('SIGTERM', stop)
        })
        await server.close()
        await admin.close()
      })
    })
}
