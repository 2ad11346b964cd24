/**
 * Request and response frames: the int32 size prefix, the header whose version follows from the
 * API version, and the body. Pure functions over buffers; sockets live in `net/`.
 */
import { isFlexible, type ApiSpec } from './codec-runtime.js'
import { DecodeError } from './errors/base.js'
import { apiSpecByKey } from './generated/index.js'
import { RequestHeaderCodec, type RequestHeader } from './generated/request-header.js'
import { ResponseHeaderCodec } from './generated/response-header.js'
import { Reader } from './primitives/reader.js'
import { Writer } from './primitives/writer.js'

const API_VERSIONS_KEY = 18
const CONTROLLED_SHUTDOWN_KEY = 7

/** Header v2 (tagged fields) for flexible versions, v1 otherwise; v0 only for ControlledShutdown v0. */
export function requestHeaderVersion(api: Pick<ApiSpec, 'apiKey' | 'firstFlexibleVersion'>, version: number): number {
  if (api.apiKey === CONTROLLED_SHUTDOWN_KEY && version === 0) return 0
  return isFlexible(api, version) ? 2 : 1
}

/**
 * Header v1 for flexible versions, v0 otherwise. ApiVersions always answers with v0 so that a
 * client that asked for a version the broker lacks can still read the answer (KIP-511).
 */
export function responseHeaderVersion(api: Pick<ApiSpec, 'apiKey' | 'firstFlexibleVersion'>, version: number): number {
  if (api.apiKey === API_VERSIONS_KEY) return 0
  return isFlexible(api, version) ? 1 : 0
}

export interface RequestFrameHeader {
  correlationId: number
  clientId: string | null
}

/** Encodes a whole request frame, size prefix included, ready to write to a socket. */
export function encodeRequest<Req, ReqInit, Res, ResInit>(
  api: ApiSpec<Req, ReqInit, Res, ResInit>,
  version: number,
  header: RequestFrameHeader,
  body: ReqInit,
  sizeHint = 0,
): Buffer {
  return writeRequest(new Writer(256 + sizeHint), api, version, header, body).finish()
}

/**
 * The same frame in pieces: byte fields of at least `shareFrom` bytes (a Produce request's record
 * batches) are not copied into the frame but are pieces of their own, for a vectored write. The
 * caller must not change them until the frame is written.
 */
export function encodeRequestChunks<Req, ReqInit, Res, ResInit>(
  api: ApiSpec<Req, ReqInit, Res, ResInit>,
  version: number,
  header: RequestFrameHeader,
  body: ReqInit,
  pieces: { readonly sizeHint?: number; readonly shareFrom: number },
): Buffer[] {
  return writeRequest(new Writer(256 + (pieces.sizeHint ?? 0), pieces.shareFrom), api, version, header, body).finishChunks()
}

function writeRequest<Req, ReqInit, Res, ResInit>(w: Writer, api: ApiSpec<Req, ReqInit, Res, ResInit>, version: number, header: RequestFrameHeader, body: ReqInit): Writer {
  const sizeAt = w.reserve(4)
  RequestHeaderCodec.encode(
    w,
    { requestApiKey: api.apiKey, requestApiVersion: version, correlationId: header.correlationId, clientId: header.clientId },
    requestHeaderVersion(api, version),
  )
  api.request.encode(w, body, version)
  w.setInt32At(sizeAt, w.length - 4)
  return w
}

/** Encodes a whole response frame, size prefix included. */
export function encodeResponse<Req, ReqInit, Res, ResInit>(
  api: ApiSpec<Req, ReqInit, Res, ResInit>,
  version: number,
  correlationId: number,
  body: ResInit,
): Buffer {
  return writeResponse(new Writer(256), api, version, correlationId, body).finish()
}

/**
 * The same frame in pieces, as `encodeRequestChunks` makes a request's: byte fields of at least
 * `shareFrom` bytes (a Fetch response's records) are pieces of their own instead of copies, for a
 * vectored write. The caller must not change them until the frame is written.
 */
export function encodeResponseChunks<Req, ReqInit, Res, ResInit>(
  api: ApiSpec<Req, ReqInit, Res, ResInit>,
  version: number,
  correlationId: number,
  body: ResInit,
  shareFrom: number,
): Buffer[] {
  return writeResponse(new Writer(256, shareFrom), api, version, correlationId, body).finishChunks()
}

function writeResponse<Req, ReqInit, Res, ResInit>(w: Writer, api: ApiSpec<Req, ReqInit, Res, ResInit>, version: number, correlationId: number, body: ResInit): Writer {
  const sizeAt = w.reserve(4)
  ResponseHeaderCodec.encode(w, { correlationId }, responseHeaderVersion(api, version))
  api.response.encode(w, body, version)
  w.setInt32At(sizeAt, w.length - 4)
  return w
}

export interface DecodedRequestHeader {
  header: RequestHeader
  /** Undefined when the api key is not one Kafka defines. */
  api: ApiSpec | undefined
  /** A reader positioned at the first byte of the body. */
  body: Reader
}

/**
 * Reads the header of a request frame (without its size prefix). The header is read even for an
 * unknown api key or version, so a broker can still answer with the right correlation id.
 */
export function decodeRequestHeader(frame: Buffer): DecodedRequestHeader {
  const r = new Reader(frame)
  const apiKey = r.int16()
  const version = r.int16()
  r.offset = 0
  const api = apiSpecByKey(apiKey)
  // Unknown APIs and versions still share the v1 prefix (key, version, correlation id, client id).
  const known = api !== undefined && version >= api.minVersion && version <= api.maxVersion
  const header = RequestHeaderCodec.decode(r, known ? requestHeaderVersion(api, version) : 1)
  return { header, api, body: r }
}

/**
 * Decodes a request body for a known api and version. Bytes after the body are ignored, as Kafka's
 * brokers ignore them: librdkafka 2.x, for one, sends three extra bytes after a Metadata v12
 * request for all topics, and a broker that refused them would be unusable from it.
 */
export function decodeRequestBody<Req>(api: ApiSpec<Req, unknown, unknown, unknown>, version: number, body: Reader): Req {
  if (version < api.minVersion || version > api.maxVersion) {
    throw new DecodeError('DECODE_UNSUPPORTED_VERSION', `${api.name} request version ${version} is outside ${api.minVersion}-${api.maxVersion}`)
  }
  return api.request.decode(body, version)
}

/** The correlation id of a response frame (without size prefix), to match it to its request. */
export function peekCorrelationId(frame: Buffer): number {
  if (frame.length < 4) throw new DecodeError('DECODE_TRUNCATED', `response frame of ${frame.length} bytes has no correlation id`)
  return frame.readInt32BE(0)
}

/** Decodes a response frame (without size prefix) for the api and version it answers. */
export function decodeResponse<Res>(api: ApiSpec<unknown, unknown, Res, unknown>, version: number, frame: Buffer): { correlationId: number; body: Res } {
  const r = new Reader(frame)
  const { correlationId } = ResponseHeaderCodec.decode(r, responseHeaderVersion(api, version))
  const body = api.response.decode(r, version)
  r.expectEnd(`${api.name} v${version} response`)
  return { correlationId, body }
}
