import type { Command } from 'commander'

/**
 * `baton lab`: the duplicate-on-rebalance scenario on the embedded broker. Until the lab lands
 * it says what exists today instead of failing, so `npm start` always works on a fresh clone.
 */
export function registerLabCommand(program: Command): void {
  program
    .command('lab')
    .description('run the duplicate-on-rebalance scenario on the embedded broker and print the table')
    .action(() => {
      console.log(
        [
          'baton lab: the duplicate-on-rebalance scenario is not built yet.',
          'What exists today: the Kafka protocol codec (src/protocol), generated from Kafka\'s message specs.',
          'Run the tests with: npm test',
        ].join('\n'),
      )
    })
}
