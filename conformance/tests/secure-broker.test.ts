/**
 * Invariant: the embedded broker's TLS and SASL work for clients baton did not write, as they do
 * for Kafka: kcat (librdkafka 2.0) and @confluentinc/kafka-javascript (librdkafka 2.15) produce and
 * consume over SASL_SSL with SCRAM-SHA-256 and SCRAM-SHA-512 and over mutual TLS; librdkafka
 * re-authenticates on the same connections when the broker sets a session lifetime (KIP-368), so
 * nothing is lost or closed; a wrong password is refused. baton's own client and CLI connect the
 * same way, and fail with typed errors on a wrong password and an untrusted certificate.
 * Certificates are made for the run with openssl.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { after, before, describe, it } from 'node:test'
import Kafka from '@confluentinc/kafka-javascript'
import { startBroker, type BrokerLogger, type EmbeddedBroker } from '../../src/broker/index.js'
import { Admin } from '../../src/client/admin/admin.js'
import { Producer } from '../../src/client/producer/producer.js'
import { NetworkError, SaslError } from '../../src/net/errors.js'
import { makeCertificates, type TestCertificates } from '../../test/broker/helpers/certificates.js'

const run = promisify(execFile)
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'baton.js')
const USERS = { alice: 'alice-secret', bob: 'bob-secret' }

function kcat(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(input ?? '')
  })
}

/** Debug lines of the broker, for counting authentications. */
class CapturingLogger implements BrokerLogger {
  readonly lines: Array<{ fields: Record<string, unknown>; message: string }> = []
  debug(fields: object, message = ''): void {
    this.lines.push({ fields: fields as Record<string, unknown>, message })
  }
  info(fields: object, message = ''): void {
    this.lines.push({ fields: fields as Record<string, unknown>, message })
  }
  warn(fields: object, message = ''): void {
    this.lines.push({ fields: fields as Record<string, unknown>, message })
  }
  error(fields: object, message = ''): void {
    this.lines.push({ fields: fields as Record<string, unknown>, message })
  }
  child(): this {
    return this
  }
}

function rdkafkaRoundTrip(config: Record<string, string | number | boolean>, topic: string, records: number, spreadMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const producer = new Kafka.Producer({ ...config, 'linger.ms': 1, dr_cb: true })
    const consumer = new Kafka.KafkaConsumer({ ...config, 'group.id': `${topic}-readers`, 'enable.auto.commit': true }, { 'auto.offset.reset': 'earliest' })
    const got: string[] = []
    const deadline = setTimeout(() => reject(new Error(`read ${got.length} of ${records} within 90 s`)), 90_000)
    const fail = (error: unknown): void => {
      clearTimeout(deadline)
      reject(error instanceof Error ? error : new Error(JSON.stringify(error)))
    }
    // librdkafka reports its bootstrap connection's hand-over to the node's own as "all broker
    // connections are down" for a moment, and recovers by itself; anything else is a failure.
    const onError = (error: { message: string; code: number }): void => {
      if (error.code === Kafka.CODES.ERRORS.ERR__ALL_BROKERS_DOWN || /all broker connections are down/.test(error.message)) return
      fail(error)
    }
    producer.on('event.error', onError)
    consumer.on('event.error', onError)
    consumer.on('data', (m) => {
      got.push(m.value?.toString() ?? '')
      if (got.length === records) {
        clearTimeout(deadline)
        consumer.disconnect(() => producer.disconnect(() => resolve(got)))
      }
    })
    consumer.connect({}, (err) => {
      if (err) return fail(err)
      consumer.subscribe([topic])
      consumer.consume()
      producer.connect({}, (perr) => {
        if (perr) return fail(perr)
        producer.setPollInterval(50)
        let sent = 0
        const tick = setInterval(() => {
          producer.produce(topic, null, Buffer.from(`r${sent}`))
          if (++sent === records) clearInterval(tick)
        }, spreadMs / records)
      })
    })
  })
}

describe('TLS and SASL on the embedded broker, with third-party clients', () => {
  let certs: TestCertificates
  let broker: EmbeddedBroker
  let mutual: EmbeddedBroker
  let reauth: EmbeddedBroker
  const reauthLog = new CapturingLogger()
  before(async () => {
    certs = makeCertificates()
    const tls = { cert: certs.brokerCert, key: certs.brokerKey }
    broker = await startBroker({ tls, sasl: { mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN'], users: USERS } })
    mutual = await startBroker({ tls: { ...tls, ca: certs.ca } })
    reauth = await startBroker({ tls, sasl: { mechanisms: ['SCRAM-SHA-512'], users: USERS, sessionLifetimeMs: 8000 }, logger: reauthLog })
  })
  after(async () => {
    await Promise.all([broker?.stop(), mutual?.stop(), reauth?.stop()])
    certs?.remove()
  })

  const kcatSasl = (b: EmbeddedBroker, mechanism: string, password: string): string[] => [
    '-b', b.bootstrap.join(','), '-X', 'security.protocol=SASL_SSL', '-X', `sasl.mechanisms=${mechanism}`, '-X', 'sasl.username=alice',
    '-X', `sasl.password=${password}`, '-X', `ssl.ca.location=${certs.files.ca}`,
  ]

  for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512']) {
    it(`kcat produces and consumes over SASL_SSL with ${mechanism}`, async () => {
      const topic = `kcat-${mechanism.toLowerCase()}`
      broker.createTopic(topic, { partitions: 2 })
      const lines = Array.from({ length: 200 }, (_, i) => `k${i}:v${i}`)
      const produced = await kcat([...kcatSasl(broker, mechanism, USERS.alice), '-P', '-t', topic, '-K', ':'], lines.join('\n') + '\n')
      assert.equal(produced.code, 0, produced.stderr)
      const consumed = await kcat([...kcatSasl(broker, mechanism, USERS.alice), '-C', '-t', topic, '-o', 'beginning', '-e', '-f', '%k:%s\n', '-q'])
      assert.equal(consumed.code, 0, consumed.stderr)
      assert.deepEqual(consumed.stdout.trim().split('\n').sort(), [...lines].sort())
    })
  }

  it('kcat with a wrong password is refused with an authentication error', async () => {
    const result = await kcat([...kcatSasl(broker, 'SCRAM-SHA-256', 'not-the-password'), '-L', '-m', '5'])
    assert.notEqual(result.code, 0)
    assert.match(result.stderr, /Authentication failed|SASL authentication error/i)
  })

  it('kcat over mutual TLS: with a client certificate it works, without one it is refused', async () => {
    const base = ['-b', mutual.bootstrap.join(','), '-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${certs.files.ca}`]
    const withCert = [...base, '-X', `ssl.certificate.location=${certs.files.clientCert}`, '-X', `ssl.key.location=${certs.files.clientKey}`]
    mutual.createTopic('kcat-mtls', { partitions: 1 })
    assert.equal((await kcat([...withCert, '-P', '-t', 'kcat-mtls'], 'one\ntwo\n')).code, 0)
    const consumed = await kcat([...withCert, '-C', '-t', 'kcat-mtls', '-o', 'beginning', '-e', '-q'])
    assert.deepEqual(consumed.stdout.trim().split('\n'), ['one', 'two'])
    const without = await kcat([...base, '-L', '-m', '5'])
    assert.notEqual(without.code, 0)
  })

  it('@confluentinc/kafka-javascript produces and consumes over SASL_SSL SCRAM-SHA-512 in a group', { timeout: 120_000 }, async () => {
    const topic = 'ckjs-scram'
    broker.createTopic(topic, { partitions: 3 })
    const config = {
      'bootstrap.servers': broker.bootstrap.join(','),
      'security.protocol': 'sasl_ssl',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'bob',
      'sasl.password': USERS.bob,
      'ssl.ca.location': certs.files.ca,
    }
    const got = await rdkafkaRoundTrip(config, topic, 100, 500)
    assert.deepEqual(got.sort(), Array.from({ length: 100 }, (_, i) => `r${i}`).sort())
  })

  it('librdkafka re-authenticates before the session lifetime ends (KIP-368); no connection is closed for it', { timeout: 120_000 }, async () => {
    const topic = 'ckjs-reauth'
    reauth.createTopic(topic, { partitions: 1 })
    const config = {
      'bootstrap.servers': reauth.bootstrap.join(','),
      'security.protocol': 'sasl_ssl',
      'sasl.mechanisms': 'SCRAM-SHA-512',
      'sasl.username': 'alice',
      'sasl.password': USERS.alice,
      'ssl.ca.location': certs.files.ca,
    }
    // Records spread over more than two session lifetimes (long enough that a loaded machine's late
    // timers do not push librdkafka's re-authentication, at 85-95% of the lifetime, past its end).
    const got = await rdkafkaRoundTrip(config, topic, 60, 18_000).catch((error: unknown) => {
      const refusals = reauthLog.lines.filter((l) => /SASL authentication failed/.test(l.message)).map((l) => JSON.stringify(l.fields))
      throw new Error(`${String(error)}; broker refusals: ${refusals.join('; ') || 'none'}`)
    })
    assert.equal(got.length, 60)
    const reauthentications = reauthLog.lines.filter((l) => l.message === 'SASL authenticated' && l.fields.reauthentication === true)
    assert.ok(reauthentications.length >= 1, 'librdkafka never re-authenticated')
    assert.deepEqual(reauthLog.lines.filter((l) => typeof l.fields.err === 'string' && /session expired/.test(l.fields.err)), [])
  })

  it("baton's client: the right password works; a wrong one is SaslError; an untrusted certificate is NET_TLS_FAILED", async () => {
    const producer = new Producer({ bootstrapServers: broker.bootstrap, tls: { ca: certs.ca }, sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: USERS.alice } })
    await producer.send({ topic: 'baton-secure', value: 'ok' })
    await producer.close()
    const wrong = new Admin({ bootstrapServers: broker.bootstrap, tls: { ca: certs.ca }, sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'wrong' } })
    await assert.rejects(wrong.connect(), (e: unknown) => e instanceof SaslError && e.code === 'SASL_AUTHENTICATION_FAILED')
    await wrong.close()
    const untrusted = new Admin({ bootstrapServers: broker.bootstrap, tls: { ca: certs.otherCa }, sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: USERS.alice } })
    await assert.rejects(untrusted.connect(), (e: unknown) => e instanceof NetworkError && e.code === 'NET_TLS_FAILED')
    await untrusted.close()
  })

  it("baton's CLI connects with flags or a kcat-style properties file, and exits 4 on a wrong password", async () => {
    broker.createTopic('cli-secure', { partitions: 2 })
    const flags = ['--brokers', broker.bootstrap.join(','), '--tls-ca', certs.files.ca, '--sasl-mechanism', 'SCRAM-SHA-512', '--sasl-username', 'alice', '--sasl-password', USERS.alice]
    const listed = await run(process.execPath, [BIN, 'topics', 'list', ...flags, '--json'])
    assert.ok((JSON.parse(listed.stdout) as Array<{ name: string }>).some((t) => t.name === 'cli-secure'))
    const properties = join(certs.dir, 'client.properties')
    writeFileSync(
      properties,
      [`bootstrap.servers=${broker.bootstrap.join(',')}`, 'security.protocol=SASL_SSL', 'sasl.mechanism=SCRAM-SHA-256', 'sasl.username=bob', `sasl.password=${USERS.bob}`, `ssl.ca.location=${certs.files.ca}`].join('\n'),
    )
    const viaFile = await run(process.execPath, [BIN, 'groups', 'list', '--config', properties, '--json'])
    assert.ok(Array.isArray(JSON.parse(viaFile.stdout)))
    // The same file serves kcat.
    assert.equal((await kcat(['-F', properties, '-L', '-m', '10'])).code, 0)
    await assert.rejects(run(process.execPath, [BIN, 'topics', 'list', ...flags.slice(0, -1), 'wrong']), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 4)
      assert.match(e.stderr ?? '', /SCRAM|rejected/)
      return true
    })
  })
})
