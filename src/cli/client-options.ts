/**
 * How every client command reaches Kafka: `--brokers`, TLS and SASL flags, or a properties file
 * (`--config`) with the keys librdkafka and Kafka's tools use, so one file serves kcat -F and baton:
 *
 *   bootstrap.servers, security.protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL),
 *   sasl.mechanism(s), sasl.username, sasl.password, ssl.ca.location,
 *   ssl.certificate.location, ssl.key.location, client.id
 *
 * Flags win over the file; the environment gives BATON_BROKERS and BATON_SASL_PASSWORD (so a
 * password need not appear in `ps`).
 */
import { readFileSync } from 'node:fs'
import { Option, type Command } from 'commander'
import type { ClientConfig, SaslMechanismName } from '../client/index.js'
import { SASL_MECHANISMS } from './sasl-mechanisms.js'
import { CliError, EXIT } from './output.js'

export interface ConnectionFlags {
  brokers?: string
  config?: string
  tls?: boolean
  tlsCa?: string
  tlsCert?: string
  tlsKey?: string
  tlsInsecure?: boolean
  saslMechanism?: string
  saslUsername?: string
  saslPassword?: string
  clientId?: string
  json?: boolean
}

export const DEFAULT_BROKERS = '127.0.0.1:9092'

export function addConnectionOptions(command: Command): Command {
  return command
    .option('-b, --brokers <host:port,...>', `bootstrap brokers (env BATON_BROKERS; default ${DEFAULT_BROKERS})`)
    .option('-c, --config <file>', 'client properties file: bootstrap.servers, security.protocol, sasl.*, ssl.*.location (the keys kcat -F reads)')
    .option('--tls', 'connect with TLS (implied by the other --tls-* flags)')
    .option('--tls-ca <file>', 'PEM CA certificates to trust for the brokers')
    .option('--tls-cert <file>', 'PEM client certificate, for brokers that require one (mutual TLS)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .addOption(new Option('--tls-insecure', 'do not verify the brokers\' certificates (development only)').hideHelp())
    .addOption(new Option('--sasl-mechanism <name>', 'authenticate with SASL').choices([...SASL_MECHANISMS]))
    .option('--sasl-username <name>', 'SASL user')
    .option('--sasl-password <password>', 'SASL password (or env BATON_SASL_PASSWORD)')
    .option('--client-id <id>', 'client id sent to the brokers', 'baton-cli')
    .option('--json', 'print JSON for scripts instead of tables')
}

function readProperties(file: string): Map<string, string> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new CliError(EXIT.USAGE, `--config ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
  }
  const map = new Map<string, string>()
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue
    const eq = line.search(/[=:]/)
    if (eq <= 0) throw new CliError(EXIT.USAGE, `--config ${file} line ${i + 1}: expected key=value`)
    map.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim())
  }
  return map
}

function readPem(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new CliError(EXIT.USAGE, `${flag} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
  }
}

/** The client configuration the flags, the config file and the environment describe. */
export function clientConfigOf(flags: ConnectionFlags): ClientConfig {
  const props = flags.config === undefined ? new Map<string, string>() : readProperties(flags.config)
  const brokers = flags.brokers ?? props.get('bootstrap.servers') ?? process.env.BATON_BROKERS ?? DEFAULT_BROKERS
  const protocol = (props.get('security.protocol') ?? '').toUpperCase()
  const ca = flags.tlsCa ?? props.get('ssl.ca.location')
  const cert = flags.tlsCert ?? props.get('ssl.certificate.location')
  const key = flags.tlsKey ?? props.get('ssl.key.location')
  const useTls = flags.tls === true || flags.tlsInsecure === true || ca !== undefined || cert !== undefined || protocol === 'SSL' || protocol === 'SASL_SSL'
  if ((cert === undefined) !== (key === undefined)) throw new CliError(EXIT.USAGE, '--tls-cert and --tls-key go together: give both')
  const mechanism = (flags.saslMechanism ?? props.get('sasl.mechanism') ?? props.get('sasl.mechanisms'))?.toUpperCase()
  const username = flags.saslUsername ?? props.get('sasl.username')
  const password = flags.saslPassword ?? process.env.BATON_SASL_PASSWORD ?? props.get('sasl.password')
  const wantsSasl = mechanism !== undefined || protocol.startsWith('SASL_')
  const config: ClientConfig = {
    bootstrapServers: brokers.split(',').map((b) => b.trim()).filter((b) => b !== ''),
    clientId: flags.clientId ?? props.get('client.id') ?? 'baton-cli',
    allowAutoTopicCreation: false,
  }
  if (useTls) {
    config.tls = {
      ...(ca === undefined ? {} : { ca: readPem('--tls-ca', ca) }),
      ...(cert === undefined || key === undefined ? {} : { cert: readPem('--tls-cert', cert), key: readPem('--tls-key', key) }),
      ...(flags.tlsInsecure === true ? { rejectUnauthorized: false } : {}),
    }
  }
  if (wantsSasl) {
    const name = mechanism ?? 'PLAIN'
    if (!(SASL_MECHANISMS as readonly string[]).includes(name)) throw new CliError(EXIT.USAGE, `SASL mechanism ${name} is not supported; use ${SASL_MECHANISMS.join(', ')}`)
    if (username === undefined || password === undefined) {
      throw new CliError(EXIT.USAGE, 'SASL needs a user and a password: --sasl-username and --sasl-password (or BATON_SASL_PASSWORD, or sasl.username/sasl.password in --config)')
    }
    config.sasl = { mechanism: name as SaslMechanismName, username, password }
  }
  return config
}
