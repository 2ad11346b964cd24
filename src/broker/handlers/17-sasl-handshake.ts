/**
 * SaslHandshake, v0-1 (KIP-43). Picks the mechanism for the exchange that follows: after v0 the
 * client sends bare SASL tokens, after v1 it wraps them in SaslAuthenticate requests. On an
 * authenticated connection a v1 handshake starts a re-authentication (KIP-368), which must keep the
 * mechanism. A mechanism the listener does not enable, or a handshake out of turn, is answered with
 * Kafka's error and the connection is closed, as Kafka does. With SASL off, every mechanism is
 * unsupported and the list is empty.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { SaslHandshake } from '../../protocol/generated/index.js'
import { defineHandler } from './handler.js'

export default defineHandler({
  api: SaslHandshake,
  minVersion: 0,
  maxVersion: 1,
  handle: (request, ctx) => {
    const auth = ctx.connection?.auth ?? null
    const mechanisms = [...(ctx.sasl?.mechanisms ?? [])]
    if (auth === null) {
      ctx.connection?.closeAfterResponse()
      return { errorCode: KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms }
    }
    const refusal = auth.begin(request.mechanism, ctx.version === 0)
    if (refusal !== null) {
      ctx.connection?.closeAfterResponse()
      return { errorCode: KafkaErrorCode[refusal], mechanisms }
    }
    return { errorCode: 0, mechanisms }
  },
  errorResponse: (_request, errorCode, ctx) => ({ errorCode, mechanisms: [...(ctx.sasl?.mechanisms ?? [])] }),
})
