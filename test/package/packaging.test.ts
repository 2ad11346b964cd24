/**
 * Invariant: the package works as a user gets it. `npm pack` of a fresh build, unpacked into a new
 * folder beside its declared dependencies (what `npm install` of the tarball does; the npm cache
 * here cannot install them offline, so they are linked from this checkout's node_modules), must:
 * - ship a LICENSE, the docs its README links (every relative link resolves inside the package),
 *   and no source maps (their sources are not shipped);
 * - type-check a strict TypeScript application against its `baton`, `baton/client` and
 *   `baton/broker` entry points, which then runs against the embedded broker;
 * - answer `baton --version` with its version.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc')

const APP = `
import { baton, BrokersUnreachableError, ConfigError, type RunResult } from 'baton'
import { Producer, silentLogger } from 'baton/client'
import { startBroker } from 'baton/broker'

const broker = await startBroker({ memory: true })
broker.createTopic('orders', { partitions: 2 })
const producer = new Producer({ bootstrapServers: broker.bootstrap, logger: silentLogger })
await Promise.all(['a', 'b', 'c'].map((key) => producer.send({ topic: 'orders', key, value: 'order ' + key })))
await producer.close()

const seen: string[] = []
const app = baton({ brokers: broker.bootstrap, groupId: 'billing', logger: silentLogger, signals: false })
app.consume('orders', async (record) => {
  seen.push(String(record.value))
  if (seen.length === 3) void app.stop()
}, { deadLetter: false })
const result: RunResult = await app.run()
await broker.stop()
let configError = ''
try {
  baton({ brokers: 'localhost:9092', groupId: 'g', kafka: { sessionTimeout: 1 } as never })
} catch (error) {
  if (error instanceof ConfigError) configError = error.option
}
console.log(JSON.stringify({ seen: seen.sort(), exitCode: result.exitCode, configError, unreachable: typeof BrokersUnreachableError }))
`

describe('the package as installed', () => {
  let work: string
  let installed: string
  let files: string[]
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'baton-pack-'))
    // A fresh build: whatever an earlier build left in dist/ must not reach the tarball.
    await rm(join(repo, 'dist'), { recursive: true, force: true })
    await run(process.execPath, [tsc, '-p', join(repo, 'tsconfig.build.json')], { cwd: repo })
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: repo })
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[]
    assert.ok(packed !== undefined)
    files = packed.files.map((f) => f.path)
    const app = join(work, 'app')
    installed = join(app, 'node_modules', 'baton')
    await mkdir(installed, { recursive: true })
    await run('tar', ['-xzf', join(work, packed.filename), '-C', installed, '--strip-components=1'])
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    for (const dependency of Object.keys(manifest.dependencies)) {
      const target = join(app, 'node_modules', dependency)
      await mkdir(dirname(target), { recursive: true })
      await symlink(join(repo, 'node_modules', dependency), target, 'dir')
    }
  })
  after(async () => {
    await rm(work, { recursive: true, force: true })
  })

  it('ships a LICENSE and no source maps, nor the TypeScript sources', () => {
    assert.ok(files.includes('LICENSE'), 'LICENSE')
    assert.deepEqual(files.filter((f) => f.endsWith('.map')), [])
    assert.deepEqual(files.filter((f) => f.startsWith('src/') && !f.endsWith('README.md')), [])
  })

  it('resolves every relative link of its README inside the package', async () => {
    const readme = await readFile(join(installed, 'README.md'), 'utf8')
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^(https?:|mailto:|#)/.test(l))
    assert.ok(links.length >= 4, `the README links its guides (found ${links.length})`)
    const missing = links.filter((link) => !existsSync(join(installed, link.split('#')[0]!)))
    assert.deepEqual(missing, [])
  })

  it('has layer READMEs whose examples import from the package name', async () => {
    for (const readme of files.filter((f) => /^src\/[^/]+\/README\.md$/.test(f))) {
      const text = await readFile(join(installed, readme), 'utf8')
      assert.deepEqual([...text.matchAll(/from '(\.[^']*)'/g)].map((m) => m[1]), [], readme)
    }
  })

  it('type-checks a strict TypeScript app against it, which then runs on the embedded broker', async () => {
    const app = join(work, 'app')
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
    await writeFile(join(app, 'app.ts'), APP)
    await writeFile(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noUncheckedIndexedAccess: true,
          exactOptionalPropertyTypes: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(repo, 'node_modules', '@types')],
          outDir: 'out',
        },
        files: ['app.ts'],
      }),
    )
    await run(process.execPath, [tsc, '-p', app], { cwd: app })
    const { stdout } = await run(process.execPath, [join(app, 'out', 'app.js')], { cwd: app, timeout: 60_000 })
    assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)!), {
      seen: ['order a', 'order b', 'order c'],
      exitCode: 0,
      configError: 'kafka.sessionTimeout',
      unreachable: 'function',
    })
  })

  it('answers baton --version with its version', async () => {
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as { version: string }
    const { stdout } = await run(process.execPath, [join(installed, 'bin', 'baton.js'), '--version'])
    assert.equal(stdout.trim(), manifest.version)
  })
})
