/**
 * The `baton` command line: `baton broker` runs the embedded broker, `baton lab` the
 * duplicate-on-rebalance scenario, and the operator's commands (topics, produce, consume, groups,
 * console) work against any Kafka. Parsing is commander's; each command lives in its own module.
 */
import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { registerBrokerCommand } from './broker-command.js'
import { registerChaosCommand } from './chaos-command.js'
import { registerLabCommand } from './lab-command.js'
import { registerOperatorCommands } from './operator-commands.js'

const program = new Command()
// The package's own manifest, two folders up from both src/cli and dist/cli.
const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
program.name('baton').description('Kafka consumer groups with safe partition hand-off').version(manifest.version).showHelpAfterError()
registerBrokerCommand(program)
registerLabCommand(program)
registerOperatorCommands(program)
registerChaosCommand(program)

await program.parseAsync(process.argv)
