/**
 * `baton broker`'s security flags: TLS listeners and SASL users, turned into startBroker's `tls`
 * and `sasl` options. Kept apart from the broker command so the two change independently.
 */
import { readFileSync } from 'node:fs'
import { InvalidArgumentError, type Command } from 'commander'
import { parseUsersFile, type BrokerOptions } from '../broker/index.js'
import type { SaslMechanismName } from '../client/index.js'
import { SASL_MECHANISMS } from './sasl-mechanisms.js'

export interface BrokerSecurityFlags {
  tlsCert?: string
  tlsKey?: string
  tlsCa?: string
  saslMechanism?: SaslMechanismName[]
  saslUser?: Array<[string, string]>
  saslUsers?: string
  saslSessionLifetime?: number
}

const collectMechanism = (value: string, previous: SaslMechanismName[] = []): SaslMechanismName[] => {
  const upper = value.toUpperCase()
  if (!(SASL_MECHANISMS as readonly string[]).includes(upper)) throw new InvalidArgumentError(`must be one of ${SASL_MECHANISMS.join(', ')}`)
  return [...previous, upper as SaslMechanismName]
}

const collectUser = (value: string, previous: Array<[string, string]> = []): Array<[string, string]> => {
  const colon = value.indexOf(':')
  if (colon <= 0) throw new InvalidArgumentError('expected name:password, e.g. --sasl-user alice:alice-secret')
  return [...previous, [value.slice(0, colon), value.slice(colon + 1)]]
}

export function addBrokerSecurityOptions(command: Command): Command {
  return command
    .option("--tls-cert <file>", "serve TLS with this PEM certificate (chain); needs --tls-key")
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-ca <file>', 'PEM CA certificates; clients must present a certificate signed by one (mutual TLS)')
    .option('--sasl-mechanism <name>', `require SASL with this mechanism (${SASL_MECHANISMS.join(', ')}); repeat for several`, collectMechanism)
    .option('--sasl-user <name:password>', 'a SASL user; repeat for several', collectUser)
    .option('--sasl-users <file>', 'SASL users, one name:password per line (# comments)')
    .option('--sasl-session-lifetime <ms>', 'KIP-368: clients must re-authenticate within this time (connections.max.reauth.ms); 0 for never', (v) => {
      const n = Number(v)
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer >= 0')
      return n
    })
}

/** Reads the files the flags name; throws InvalidArgumentError with what to fix. */
export function brokerSecurityOptions(flags: BrokerSecurityFlags): Pick<BrokerOptions, 'tls' | 'sasl'> {
  const read = (flag: string, file: string): string => {
    try {
      return readFileSync(file, 'utf8')
    } catch (error) {
      throw new InvalidArgumentError(`${flag} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
    }
  }
  const result: Pick<BrokerOptions, 'tls' | 'sasl'> = {}
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new InvalidArgumentError('--tls-cert and --tls-key go together: give both')
  if (flags.tlsCa !== undefined && flags.tlsCert === undefined) throw new InvalidArgumentError('--tls-ca needs --tls-cert and --tls-key: mutual TLS is TLS first')
  if (flags.tlsCert !== undefined && flags.tlsKey !== undefined) {
    result.tls = {
      cert: read('--tls-cert', flags.tlsCert),
      key: read('--tls-key', flags.tlsKey),
      ...(flags.tlsCa === undefined ? {} : { ca: read('--tls-ca', flags.tlsCa) }),
    }
  }
  const users: Record<string, string> = {}
  if (flags.saslUsers !== undefined) Object.assign(users, parseUsersFile(read('--sasl-users', flags.saslUsers), flags.saslUsers))
  for (const [name, password] of flags.saslUser ?? []) users[name] = password
  const hasUsers = Object.keys(users).length > 0
  if (flags.saslMechanism === undefined) {
    if (hasUsers) throw new InvalidArgumentError('SASL users were given without --sasl-mechanism: add e.g. --sasl-mechanism SCRAM-SHA-256')
    return result
  }
  if (!hasUsers) throw new InvalidArgumentError('--sasl-mechanism needs users: add --sasl-user name:password or --sasl-users FILE')
  result.sasl = { mechanisms: flags.saslMechanism, users, ...(flags.saslSessionLifetime === undefined ? {} : { sessionLifetimeMs: flags.saslSessionLifetime }) }
  return result
}
