/**
 * The members' way to the embedded broker in the membership tests: every request is encoded at its
 * version, answered by the broker's own request pipeline in this process (no socket, so nothing
 * happens between a request and its answer that the test's clock does not decide), and decoded.
 * The group rules are the broker's; what this adds is what a network can do and a broker cannot
 * script: hold answers in transit, fail to deliver, or cut one member off as if its process died.
 * Every request a member sends is logged as the broker decoded it, for tests of exact fields.
 */
import type { InProcessConnection } from '../../../src/broker/index.js'
import type { GroupMetadataSource, GroupTransport } from '../../../src/client/membership/transport.js'
import { NetworkError } from '../../../src/net/errors.js'
import { brokerVersionsFrom, negotiateVersion, type BrokerVersions } from '../../../src/net/versions.js'
import type { ApiSpec } from '../../../src/protocol/codec-runtime.js'
import { decodeRequestBody, decodeRequestHeader, decodeResponse, encodeRequest } from '../../../src/protocol/frame.js'
import { ApiVersions, Metadata } from '../../../src/protocol/generated/index.js'

export interface SentRequest {
  readonly api: string
  readonly version: number
  /** The request as the broker decoded it. */
  readonly body: unknown
  /** The client id of the member's transport. */
  readonly from: string
  /** When it was sent (and, with no socket in between, handled), on the test's clock. */
  readonly at: number
}

type Matcher = (body: unknown, from: string) => boolean

interface Rule {
  readonly apiKey: number
  readonly matches: Matcher
  /** How many more requests the rule applies to. */
  remaining: number
  readonly action: { kind: 'hold'; waiting: (() => void)[]; count: { held: number; released: boolean } } | { kind: 'fail'; error: () => Error }
}

/** Answers held back until `release()`; `held` counts the requests whose answers were held. */
export interface Held {
  readonly held: number
  release(): void
}

/** One member's transport; `crash()` cuts it off for good, as a process that died. */
export interface MemberTransport extends GroupTransport {
  readonly clientId: string
  crash(): void
}

export class BrokerWire {
  readonly log: SentRequest[] = []
  /** The version each API is spoken at when pinned; otherwise the one negotiated as a client would. */
  readonly versions = new Map<number, number>()
  private readonly rules: Rule[] = []
  private brokerVersions: Promise<BrokerVersions> | undefined
  private correlationId = 0
  private transports = 0

  constructor(
    private readonly connection: InProcessConnection,
    private readonly clock: { now(): number },
  ) {}

  /** A transport for one member; its requests are logged under its own client id. */
  transport(): MemberTransport {
    const clientId = `member-${++this.transports}`
    let crashed = false
    return {
      clientId,
      send: (api, build) => {
        if (crashed) return Promise.reject(new NetworkError('NET_CONNECTION_LOST', { broker: 'in-process', api: api.name }, 'the member crashed'))
        return this.exchange(api, build, clientId, true)
      },
      coordinatorLost: () => undefined,
      crash: () => void (crashed = true),
    }
  }

  /** A request of any API, as an admin client would send it; not logged and not interfered with. */
  call<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, build: (version: number) => ReqInit): Promise<Res> {
    return this.exchange(api, build, 'admin', false)
  }

  /** The logged requests of one API (by name), in the order they were sent. */
  requests(api: string): unknown[] {
    return this.log.filter((l) => l.api === api).map((l) => l.body)
  }

  /**
   * Holds the answers to requests of `api` (the first `limit` that `matches` picks; every one by
   * default) until released. The broker handles each request when it is sent; only its answer waits.
   */
  hold(api: ApiSpec, options: { matches?: Matcher; limit?: number } = {}): Held {
    const count = { held: 0, released: false }
    const rule: Rule = { apiKey: api.apiKey, matches: options.matches ?? (() => true), remaining: options.limit ?? Infinity, action: { kind: 'hold', waiting: [], count } }
    this.rules.push(rule)
    return {
      get held() {
        return count.held
      },
      release: () => {
        this.remove(rule)
        count.released = true
        if (rule.action.kind === 'hold') for (const answer of rule.action.waiting.splice(0)) answer()
      },
    }
  }

  /** Fails requests of `api` with `error()` before they reach the broker, until the returned function is called. */
  fail(api: ApiSpec, error: () => Error, matches: Matcher = () => true): () => void {
    const rule: Rule = { apiKey: api.apiKey, matches, remaining: Infinity, action: { kind: 'fail', error } }
    this.rules.push(rule)
    return () => this.remove(rule)
  }

  /** Topic metadata as the broker reports it, for the members' assignors and pattern subscriptions. */
  metadata(): GroupMetadataSource {
    const topics = async (names: readonly string[] | null) =>
      (await this.call(Metadata, () => ({ topics: names === null ? null : names.map((name) => ({ name })), allowAutoTopicCreation: false }))).topics.filter(
        (t) => t.errorCode === 0 && t.name !== null && !t.isInternal,
      )
    return {
      partitionCounts: async (names) => new Map((await topics(names)).map((t) => [t.name!, t.partitions.length])),
      listTopics: async () => (await topics(null)).map((t) => t.name!),
    }
  }

  private remove(rule: Rule): void {
    const at = this.rules.indexOf(rule)
    if (at >= 0) this.rules.splice(at, 1)
  }

  private async exchange<Req, ReqInit, Res, ResInit>(
    api: ApiSpec<Req, ReqInit, Res, ResInit>,
    build: (version: number) => ReqInit,
    clientId: string,
    logged: boolean,
  ): Promise<Res> {
    const version = this.versions.get(api.apiKey) ?? (await this.negotiated(api))
    const frame = encodeRequest(api, version, { correlationId: ++this.correlationId, clientId }, build(version)).subarray(4)
    const rule = logged ? this.ruleFor(api.apiKey, frame, version, clientId) : undefined
    if (rule?.action.kind === 'fail') throw rule.action.error()
    const answered = await this.connection.request(frame)
    if (answered === null) throw new Error(`${api.name} got no answer from the broker`)
    if (rule?.action.kind === 'hold') {
      const { waiting, count } = rule.action
      count.held++
      // Answered after the release: nothing holds it any more.
      if (!count.released) await new Promise<void>((resolve) => waiting.push(resolve))
    }
    return decodeResponse(api, version, answered).body
  }

  /** Logs the request as decoded and returns the first rule that applies to it. */
  private ruleFor(apiKey: number, frame: Buffer, version: number, from: string): Rule | undefined {
    const { api, body } = decodeRequestHeader(frame)
    const decoded = decodeRequestBody(api!, version, body)
    this.log.push({ api: api!.name, version, body: decoded, from, at: this.clock.now() })
    const rule = this.rules.find((r) => r.apiKey === apiKey && r.remaining > 0 && r.matches(decoded, from))
    if (rule !== undefined) rule.remaining--
    return rule
  }

  private async negotiated(api: ApiSpec): Promise<number> {
    this.brokerVersions ??= (async () => {
      const frame = encodeRequest(ApiVersions, 3, { correlationId: ++this.correlationId, clientId: 'wire' }, { clientSoftwareName: 'baton-test', clientSoftwareVersion: '0' }).subarray(4)
      const answered = await this.connection.request(frame)
      return brokerVersionsFrom(decodeResponse(ApiVersions, 3, answered!).body.apiKeys)
    })()
    const negotiated = negotiateVersion(api, await this.brokerVersions)
    if (!negotiated.ok) throw new Error(`${api.name}: ${negotiated.reason}`)
    return negotiated.version
  }
}
