/**
 * ApiVersions, v0-4. Lists exactly the APIs the broker's handlers serve, each range cut to the
 * spec's stable versions. A request above v4 never reaches here: the pipeline answers it in v0 with
 * UNSUPPORTED_VERSION and the same list (KIP-511), so the client can retry with a version we have.
 * Leaves out: feature flags (supported/finalized features are empty), client software validation.
 */
import { ApiVersions } from '../../protocol/generated/index.js'
import { defineHandler } from './handler.js'

export default defineHandler({
  api: ApiVersions,
  minVersion: 0,
  maxVersion: 4,
  handle: (_request, ctx) => ({ errorCode: 0, apiKeys: ctx.supportedApis }),
  errorResponse: (_request, errorCode, ctx) => ({ errorCode, apiKeys: ctx.supportedApis }),
})
