/**
 * `baton console`'s web server, on loopback: the page, its libraries, the current snapshot as JSON
 * (`/api/state`) and live updates as server-sent events (`/events`, one `snapshot` event per poll).
 * Polling runs one round at a time: a slow cluster delays the next round instead of piling them up.
 */
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Admin } from '../client/index.js'
import { asset } from './assets.js'
import { GroupMonitor } from './monitor.js'
import { PAGE_HTML } from './page.js'

export interface ConsoleServerOptions {
  admin: Admin
  bootstrap: string[]
  /** 0 picks a free port. */
  port: number
  host?: string
  /** Time between polls of the cluster. Default 1000 ms. */
  intervalMs?: number
}

export interface ConsoleServer {
  readonly url: string
  readonly monitor: GroupMonitor
  close(): Promise<void>
}

export async function startConsole(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const monitor = new GroupMonitor(options.admin, options.bootstrap)
  const clients = new Set<ServerResponse>()
  const intervalMs = options.intervalMs ?? 1000
  let stopped = false
  let timer: NodeJS.Timeout | undefined

  const broadcast = (): void => {
    const data = `event: snapshot\ndata: ${toJson(monitor.snapshot())}\n\n`
    for (const client of clients) client.write(data)
  }
  const round = async (): Promise<void> => {
    if (stopped) return
    await monitor.poll()
    broadcast()
    if (!stopped) timer = setTimeout(() => void round(), intervalMs)
  }

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(PAGE_HTML)
      return
    }
    if (path === '/api/state') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(toJson(monitor.snapshot()))
      return
    }
    if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' })
      res.write(`retry: 2000\nevent: snapshot\ndata: ${toJson(monitor.snapshot())}\n\n`)
      clients.add(res)
      req.on('close', () => clients.delete(res))
      return
    }
    if (path === '/favicon.ico') {
      res.writeHead(204).end()
      return
    }
    const file = asset(path)
    if (file !== undefined) {
      res.writeHead(200, { 'content-type': file.type, 'cache-control': 'max-age=3600' }).end(file.body)
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  void round()
  return {
    url: `http://${address.address}:${address.port}/`,
    monitor,
    async close() {
      stopped = true
      clearTimeout(timer)
      for (const client of clients) client.end()
      clients.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))
}
