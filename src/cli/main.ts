/**
 * The `baton` command line: `baton broker` runs the embedded broker, `baton lab` the
 * duplicate-on-rebalance scenario. Parsing is commander's; each command lives in its own module.
 */
import { Command } from 'commander'
import { registerBrokerCommand } from './broker-command.js'
import { registerChaosCommand } from './chaos-command.js'
import { registerLabCommand } from './lab-command.js'

const program = new Command()
program.name('baton').description('Kafka consumer groups with safe partition hand-off').showHelpAfterError()
registerBrokerCommand(program)
registerLabCommand(program)
registerChaosCommand(program)

await program.parseAsync(process.argv)
