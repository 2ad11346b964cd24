import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ConfigError } from '../../src/protocol/errors/base.js'
import { Connection } from '../../src/net/connection.js'
import { brokerVersionsFrom, CLIENT_VERSIONS, negotiateVersion } from '../../src/net/versions.js'
import { JoinGroup, Metadata } from '../../src/protocol/generated/index.js'

describe('version negotiation', () => {
  const broker = brokerVersionsFrom([
    { apiKey: JoinGroup.apiKey, minVersion: 0, maxVersion: 9 },
    { apiKey: Metadata.apiKey, minVersion: 0, maxVersion: 7 },
  ])

  it('picks the highest version both sides support', () => {
    assert.deepEqual(negotiateVersion(Metadata, broker), { ok: true, version: 7 })
    assert.deepEqual(negotiateVersion(JoinGroup, broker), { ok: true, version: Math.min(9, CLIENT_VERSIONS.get(JoinGroup.apiKey)!.max) })
  })

  it('honours a pinned maximum, and says why when nothing is left', () => {
    assert.deepEqual(negotiateVersion(JoinGroup, broker, 5), { ok: true, version: 5 })
    const none = negotiateVersion(Metadata, broker, 0)
    assert.equal(none.ok, false)
  })

  it('refuses a pinned version that is not a version number, naming the API', () => {
    assert.throws(
      () => new Connection({ host: '127.0.0.1', port: 9092, maxApiVersions: { JoinGroup: -1 } }),
      (e: unknown) => e instanceof ConfigError && e.option === 'maxApiVersions.JoinGroup',
    )
  })
})
