/**
 * SaslAuthenticate, v0-2 (KIP-152). Carries one step of the exchange a v1 SaslHandshake started.
 * v1+ reports the session lifetime (KIP-368): the milliseconds until the client must
 * re-authenticate, 0 for never. A refused exchange gets SASL_AUTHENTICATION_FAILED with Kafka's
 * message and the connection is closed after the answer; a request out of turn gets
 * ILLEGAL_SASL_STATE, likewise.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { SaslAuthenticate } from '../../protocol/generated/index.js'
import { IllegalSaslState } from '../security/connection-auth.js'
import { SaslRefusal } from '../security/sasl-server.js'
import { defineHandler } from './handler.js'

const EMPTY = Buffer.alloc(0)

export default defineHandler({
  api: SaslAuthenticate,
  minVersion: 0,
  maxVersion: 2,
  handle: (request, ctx) => {
    const auth = ctx.connection?.auth ?? null
    if (auth === null || !auth.exchangeUnderWay || auth.rawTokens) {
      ctx.connection?.closeAfterResponse()
      return { errorCode: KafkaErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'Unexpected SaslAuthenticate: send SaslHandshake v1 first', authBytes: EMPTY }
    }
    const now = Date.now()
    const reauthentication = auth.authenticated
    try {
      const { challenge, done } = auth.step(request.authBytes, now)
      if (done) ctx.options.logger.debug({ node: ctx.node.nodeId, principal: auth.principal, mechanism: auth.mechanism, reauthentication }, 'SASL authenticated')
      return { errorCode: 0, errorMessage: null, authBytes: challenge, sessionLifetimeMs: done ? BigInt(auth.sessionLifetimeLeft(now)) : 0n }
    } catch (error) {
      if (!(error instanceof SaslRefusal) && !(error instanceof IllegalSaslState)) throw error
      ctx.options.logger.info({ node: ctx.node.nodeId, err: error.message }, 'SASL authentication failed; closing the connection')
      ctx.connection?.closeAfterResponse()
      return {
        errorCode: error instanceof SaslRefusal ? KafkaErrorCode.SASL_AUTHENTICATION_FAILED : KafkaErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: error.message,
        authBytes: EMPTY,
      }
    }
  },
  errorResponse: (_request, errorCode) => ({ errorCode, errorMessage: null, authBytes: EMPTY }),
})
