/**
 * The `baton` command line: `baton broker` runs the embedded broker, `baton lab` the
 * duplicate-on-rebalance scenario, and the operator's commands (topics, produce, consume, groups,
 * console) work against any Kafka. Parsing is commander's; each command lives in its own module.
 */
import { Command } from 'commander'
import { registerBrokerCommand } from './broker-command.js'
import { registerLabCommand } from './lab-command.js'
import { registerOperatorCommands } from './operator-commands.js'

const program = new Command()
program.name('baton').description('Kafka consumer groups with safe partition hand-off').showHelpAfterError()
registerBrokerCommand(program)
registerLabCommand(program)
registerOperatorCommands(program)

await program.parseAsync(process.argv)
