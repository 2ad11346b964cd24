/**
 * What a connection does before its first request: learn the broker's API versions (KIP-35,
 * KIP-511) and, when configured, authenticate with SASL (KIP-43 handshake, KIP-152 exchange).
 */
import type { ApiSpec } from '../protocol/codec-runtime.js'
import { DecodeError } from '../protocol/errors/base.js'
import { KafkaErrorCode, kafkaError } from '../protocol/errors/kafka-errors.js'
import { ApiVersions, SaslAuthenticate, SaslHandshake, type ApiVersionsResponse } from '../protocol/generated/index.js'
import { SaslError, UnsupportedVersionError } from './errors.js'
import { createSaslSession, type SaslOptions } from './sasl/index.js'
import { brokerVersionsFrom, CLIENT_VERSIONS, negotiateVersion, type BrokerVersions } from './versions.js'

const CLIENT_SOFTWARE_NAME = 'baton'
const CLIENT_SOFTWARE_VERSION = '0.1.0'

/** Sends one request at a given version on the connection being opened. */
export type HandshakeSend = <Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, version: number, body: ReqInit) => Promise<Res>

export async function negotiateApiVersions(send: HandshakeSend, broker: string): Promise<BrokerVersions> {
  const ownMax = Math.min(CLIENT_VERSIONS.get(ApiVersions.apiKey)?.max ?? 0, ApiVersions.maxVersion)
  const ask = (version: number): Promise<ApiVersionsResponse> =>
    send(ApiVersions, version, version >= 3 ? { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION } : {})
  let response: ApiVersionsResponse
  try {
    response = await ask(ownMax)
  } catch (error) {
    // Some brokers (librdkafka's mock cluster among them) answer a version they lack in a shape
    // that is neither that version nor v0; v0 is the one request every broker must understand.
    if (!(error instanceof DecodeError)) throw error
    response = await ask(0)
  }
  if (response.errorCode === KafkaErrorCode.UNSUPPORTED_VERSION) {
    const theirs = response.apiKeys.find((key) => key.apiKey === ApiVersions.apiKey)
    response = await ask(Math.min(ownMax, theirs?.maxVersion ?? 0))
  }
  if (response.errorCode !== 0) throw kafkaError(response.errorCode, { api: 'ApiVersions', broker })
  return brokerVersionsFrom(response.apiKeys)
}

/**
 * Runs one SASL exchange on the connection. Resolves with the session lifetime the broker reported
 * (KIP-368, SaslAuthenticate v1+), in milliseconds; 0 when the session does not expire.
 */
export async function authenticate(send: HandshakeSend, versions: BrokerVersions, broker: string, sasl: SaslOptions): Promise<number> {
  const versionOf = (api: ApiSpec): number => {
    const result = negotiateVersion(api, versions)
    if (!result.ok) throw new UnsupportedVersionError(api.name, broker, result.reason)
    return result.version
  }
  const session = createSaslSession(sasl)
  const handshake = await send(SaslHandshake, versionOf(SaslHandshake), { mechanism: session.mechanism })
  if (handshake.errorCode === KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM) {
    throw new SaslError('SASL_MECHANISM_UNSUPPORTED', `broker ${broker} does not enable SASL ${session.mechanism}; it enables ${handshake.mechanisms.join(', ') || 'none'}`)
  }
  if (handshake.errorCode !== 0) throw kafkaError(handshake.errorCode, { api: 'SaslHandshake', broker })
  const authVersion = versionOf(SaslAuthenticate)
  let outgoing: Buffer | null = session.initial()
  let lifetimeMs = 0
  while (outgoing !== null) {
    const response = await send(SaslAuthenticate, authVersion, { authBytes: outgoing })
    lifetimeMs = Number(response.sessionLifetimeMs)
    if (response.errorCode !== 0) {
      throw new SaslError(
        'SASL_AUTHENTICATION_FAILED',
        `broker ${broker} rejected SASL ${session.mechanism} for user ${JSON.stringify(sasl.username)}: ${response.errorMessage ?? 'no reason given'}`,
        { cause: kafkaError(response.errorCode, { api: 'SaslAuthenticate', broker, errorMessage: response.errorMessage }) },
      )
    }
    outgoing = session.next(response.authBytes)
  }
  return lifetimeMs
}
