import { Option, type Command } from 'commander'
import { pino } from 'pino'
import { startBroker } from '../broker/index.js'
import { integerOption } from './parse.js'
import { addBrokerSecurityOptions, brokerSecurityOptions, type BrokerSecurityFlags } from './broker-security.js'
import { exitWithStartupError } from './startup-error.js'

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent']

interface BrokerFlags extends BrokerSecurityFlags {
  port: number
  nodes: number
  host: string
  data?: string
  memory?: boolean
  partitions: number
  autoCreate: boolean
  groupInitialDelay: number
  queuedMaxRequestBytes: number
  connectionsMaxIdleMs: number
  consumerSessionTimeout: number
  consumerHeartbeatInterval: number
  logLevel: string
}

/**
 * `baton broker`: the embedded broker as a process. Prints one line beginning
 * `baton broker listening on ` with the bootstrap list once every node accepts connections (scripts
 * wait for it), logs to stderr, and stops cleanly on SIGINT/SIGTERM; a second signal exits at once.
 */
export function registerBrokerCommand(program: Command): void {
  const command = program
    .command('broker')
    .description('run the embedded Kafka-protocol broker (development and tests; production runs on Kafka)')
    // A wrong flag gets commander's one line naming it (and the allowed values), not the whole help.
    .showHelpAfterError(false)
    .option('--port <n>', 'port of the first node; node i listens on port+i; 0 picks free ports', integerOption('--port', 0, 65535), 9092)
    .option('--nodes <n>', 'broker nodes in this process', integerOption('--nodes', 1, 64), 1)
    .option('--host <host>', 'interface to listen on and advertise', '127.0.0.1')
    .addOption(new Option('--data <dir>', 'keep partition logs in this directory (survives restarts)').conflicts('memory'))
    .addOption(new Option('--memory', 'keep everything in memory (the default when --data is absent)').conflicts('data'))
    .option('--partitions <n>', 'partitions of auto-created topics', integerOption('--partitions', 1, 10000), 1)
    .option('--no-auto-create', 'do not create topics on first use')
    .option('--group-initial-delay <ms>', "wait for more members before a new group's first rebalance (Kafka: 3000)", integerOption('--group-initial-delay', 0, 300_000), 0)
    .option('--queued-max-request-bytes <n>', 'bytes of requests being received at once, all connections together; past it the broker stops reading (0: no cap)', integerOption('--queued-max-request-bytes', 0, 2 ** 31 - 1), 100 * 1024 * 1024)
    .option('--connections-max-idle-ms <ms>', 'close connections that complete no request for this long (0: never)', integerOption('--connections-max-idle-ms', 0, 2 ** 31 - 1), 600_000)
    .option('--consumer-session-timeout <ms>', 'KIP-848 groups: session timeout of their members (Kafka: 45000)', integerOption('--consumer-session-timeout', 1, 3_600_000), 45_000)
    .option('--consumer-heartbeat-interval <ms>', 'KIP-848 groups: heartbeat interval given to their members (Kafka: 5000)', integerOption('--consumer-heartbeat-interval', 1, 3_600_000), 5000)
    .addOption(new Option('--log-level <level>', 'stderr log level').choices(LOG_LEVELS).default('info'))
  addBrokerSecurityOptions(command).action(async (flags: BrokerFlags) => {
      let security: ReturnType<typeof brokerSecurityOptions>
      try {
        security = brokerSecurityOptions(flags)
      } catch (error) {
        console.error(`baton broker: ${error instanceof Error ? error.message : String(error)}`)
        process.exitCode = 2
        return
      }
      const logger = pino({ level: flags.logLevel, base: undefined }, pino.destination(2))
      const broker = await startBroker({
        port: flags.port,
        nodes: flags.nodes,
        host: flags.host,
        ...(flags.data !== undefined ? { dataDir: flags.data } : { memory: true }),
        defaultPartitions: flags.partitions,
        autoCreateTopics: flags.autoCreate,
        groups: {
          initialRebalanceDelayMs: flags.groupInitialDelay,
          consumerSessionTimeoutMs: flags.consumerSessionTimeout,
          consumerHeartbeatIntervalMs: flags.consumerHeartbeatInterval,
        },
        queuedMaxRequestBytes: flags.queuedMaxRequestBytes,
        connectionsMaxIdleMs: flags.connectionsMaxIdleMs,
        logger,
        ...security,
      }).catch((error: unknown) => exitWithStartupError('baton broker', error))
      // Secured listeners name their protocol after the list, so a client knows how to connect.
      const protocol = broker.securityProtocol === 'PLAINTEXT' ? '' : ` (${broker.securityProtocol})`
      console.log(`baton broker listening on ${broker.bootstrap.join(',')}${protocol}`)
      await new Promise<void>((resolve) => {
        let stopping = false
        const onSignal = (signal: NodeJS.Signals): void => {
          if (stopping) {
            logger.warn({ signal }, 'second signal: exiting without a clean stop')
            process.exit(130)
          }
          stopping = true
          logger.info({ signal }, 'stopping: flushing logs and closing connections')
          broker.stop().then(resolve, (err: unknown) => {
            logger.error({ err }, 'broker did not stop cleanly')
            process.exitCode = 1
            resolve()
          })
        }
        process.on('SIGINT', onSignal)
        process.on('SIGTERM', onSignal)
      })
    })
}
