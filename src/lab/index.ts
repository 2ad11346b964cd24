/**
 * The lab's entry for the CLI: run the duplicate-on-rebalance scenario (`runLab`), its options and
 * script, the strategies it compares, and the table and progress output.
 */
export { LAB_DEFAULTS } from './config.js'
export { LabConfigError } from './errors.js'
export { verdict, type ExpectedResult } from './expectations.js'
export { runLab } from './lab.js'
export { TerminalProgress } from './progress.js'
export { parseScript } from './script.js'
export { STRATEGIES, STRATEGY_NAMES } from './strategies/index.js'
export { LEGEND, renderTable } from './table.js'
export { CHAOS_DEFAULTS, DELIVERY_MODES, resolveChaosConfig, type ChaosMode, type DeliveryMode } from './chaos/config.js'
export { summaryLines, writeChaosReport } from './chaos/report.js'
export { runChaos } from './chaos/run.js'
