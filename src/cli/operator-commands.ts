/** The commands an operator runs against any Kafka cluster, registered in one place. */
import type { Command } from 'commander'
import { registerConsoleCommand } from './console-command.js'
import { registerConsumeCommand } from './consume-command.js'
import { registerGroupsCommand } from './groups-command.js'
import { registerProduceCommand } from './produce-command.js'
import { registerTopicsCommand } from './topics-command.js'

export function registerOperatorCommands(program: Command): void {
  registerTopicsCommand(program)
  registerProduceCommand(program)
  registerConsumeCommand(program)
  registerGroupsCommand(program)
  registerConsoleCommand(program)
}
