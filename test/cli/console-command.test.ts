/**
 * `baton console` as a process: it prints the URL it serves, and that URL gives the page, every
 * library the page loads (from the installed packages: the page names no other host), the state
 * as JSON and a live event stream that names the cluster's groups.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { Admin } from '../../src/client/admin/admin.js'

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'baton.js')

describe('baton console (CLI)', () => {
  let broker: EmbeddedBroker
  before(async () => {
    broker = await startBroker({ port: 0 })
    broker.createTopic('console-cli', { partitions: 2 })
    const admin = new Admin({ bootstrapServers: broker.bootstrap })
    await admin.alterGroupOffsets('console-cli-group', [{ topic: 'console-cli', partition: 0, offset: 0n }])
    await admin.close()
  })
  after(() => broker.stop())

  it('serves the page, its libraries, the state and live events', async () => {
    const child = spawn(process.execPath, [BIN, 'console', '--port', '0', '--interval', '200', '--brokers', broker.bootstrap.join(',')], { stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString()
          const m = /baton console serving (\S+)/.exec(out)
          if (m !== null) resolve(m[1]!)
        })
        child.once('exit', (code) => reject(new Error(`console exited ${code}`)))
      })
      const page = await (await fetch(url)).text()
      const scripts = [...page.matchAll(/(?:src="|":")(\/assets\/[^"]+)"/g)].map((m) => m[1]!)
      assert.ok(scripts.length >= 4, page.slice(0, 500))
      assert.doesNotMatch(page, /https?:\/\/(?!127\.0\.0\.1)/, 'the page loads nothing from another host')
      for (const script of scripts) {
        const res = await fetch(new URL(script, url))
        assert.equal(res.status, 200, script)
        assert.ok((await res.text()).length > 100, script)
      }
      const deadline = Date.now() + 30_000
      let groups: string[] = []
      while (!groups.includes('console-cli-group')) {
        if (Date.now() > deadline) throw new Error(`the state never listed the group: ${JSON.stringify(groups)}`)
        const state = (await (await fetch(new URL('/api/state', url))).json()) as { groups: Array<{ groupId: string }> }
        groups = state.groups.map((g) => g.groupId)
        if (!groups.includes('console-cli-group')) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      const events = await fetch(new URL('/events', url))
      assert.equal(events.headers.get('content-type'), 'text/event-stream')
      const reader = events.body!.getReader()
      const chunk = (await reader.read()) as { value?: Uint8Array }
      const first = new TextDecoder().decode(chunk.value)
      assert.match(first, /^retry: \d+\nevent: snapshot\ndata: .*console-cli-group/)
      await reader.cancel()
    } finally {
      child.kill('SIGTERM')
    }
  })
})
