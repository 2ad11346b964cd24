/**
 * Certificates for TLS tests, made at test time with the openssl command (never committed): a CA,
 * a broker certificate it signed for 127.0.0.1 and localhost, a client certificate it signed (for
 * mutual TLS), and a second, unrelated CA whose trust gets a client nowhere.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestCertificates {
  dir: string
  /** PEM texts. */
  ca: string
  brokerCert: string
  brokerKey: string
  clientCert: string
  clientKey: string
  otherCa: string
  /** The same, as files (for the CLI and third-party clients). */
  files: { ca: string; brokerCert: string; brokerKey: string; clientCert: string; clientKey: string; otherCa: string }
  remove(): void
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

function selfSignedCa(dir: string, name: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`])
}

function signed(dir: string, name: string, cn: string, extensions: string): void {
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`])
  writeFileSync(join(dir, `${name}.ext`), extensions)
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`])
}

export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'baton-certs-'))
  selfSignedCa(dir, 'ca')
  selfSignedCa(dir, 'other-ca')
  signed(dir, 'broker', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  signed(dir, 'client', 'baton-test-client', 'extendedKeyUsage=clientAuth\n')
  const files = {
    ca: join(dir, 'ca.pem'),
    brokerCert: join(dir, 'broker.pem'),
    brokerKey: join(dir, 'broker.key'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
    otherCa: join(dir, 'other-ca.pem'),
  }
  const read = (file: string): string => readFileSync(file, 'utf8')
  return {
    dir,
    ca: read(files.ca),
    brokerCert: read(files.brokerCert),
    brokerKey: read(files.brokerKey),
    clientCert: read(files.clientCert),
    clientKey: read(files.clientKey),
    otherCa: read(files.otherCa),
    files,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}
