/**
 * The broker's memory under a hostile load: 20 connections each announce a 100 MiB request frame
 * and send 8 MiB of it, then stall; later every socket closes. Prints the broker process's resident
 * set size (RSS, from /proc) before the load, at its peak during it, and after the sockets closed,
 * plus how much each connection got the broker to take, and whether the broker still answers.
 *
 *   npx tsx bench/broker-memory.ts [-- <extra baton broker flags>]
 *   e.g. -- --queued-max-request-bytes 16777216 --connections-max-idle-ms 5000
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Admin } from '../src/client/admin/admin.js'

const CONNECTIONS = 20
const DECLARED = 100 * 1024 * 1024
const SENT = 8 * 1024 * 1024
const CHUNK = 64 * 1024
/** A connection whose writes have not drained for this long is taken as stopped by the broker. */
const STALL_MS = 3_000

const extra = process.argv.includes('--') ? process.argv.slice(process.argv.indexOf('--') + 1) : []
const bin = fileURLToPath(new URL('../bin/baton.js', import.meta.url))
const broker = spawn(process.execPath, [bin, 'broker', '--port', '0', '--memory', '--log-level', 'warn', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] })
const bootstrap = await new Promise<string>((resolve, reject) => {
  broker.once('exit', (code) => reject(new Error(`baton broker exited with ${code}`)))
  createInterface({ input: broker.stdout }).on('line', (line) => {
    if (line.startsWith('baton broker listening on ')) resolve(line.slice('baton broker listening on '.length).split(',')[0]!)
  })
})
const [host, port] = [bootstrap.slice(0, bootstrap.lastIndexOf(':')), Number(bootstrap.slice(bootstrap.lastIndexOf(':') + 1))]

function rssMiB(): number {
  const status = readFileSync(`/proc/${broker.pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024
}

/** Sends the size prefix and up to SENT bytes; resolves with the bytes the socket took before stalling or finishing. */
async function hostile(socket: Socket): Promise<number> {
  const prefix = Buffer.alloc(4)
  prefix.writeInt32BE(DECLARED)
  socket.write(prefix)
  const chunk = Buffer.alloc(CHUNK, 7)
  let sent = 0
  while (sent < SENT && !socket.destroyed) {
    sent += CHUNK
    if (socket.write(chunk)) continue
    const drained = await Promise.race([
      new Promise<boolean>((resolve) => socket.once('drain', () => resolve(true))),
      new Promise<boolean>((resolve) => socket.once('close', () => resolve(false))),
      sleep(STALL_MS).then(() => false),
    ])
    if (!drained) break
  }
  return sent
}

async function answers(): Promise<boolean> {
  const admin = new Admin({ bootstrapServers: [bootstrap], requestTimeoutMs: 5_000, connectTimeoutMs: 5_000 })
  try {
    await admin.createTopics([{ name: `alive-${Date.now()}`, partitions: 1 }])
    return true
  } catch {
    return false
  } finally {
    await admin.close().catch(() => undefined)
  }
}

await sleep(2_000)
const before = rssMiB()
let peak = before
const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 100)
const sockets: Socket[] = []
for (let i = 0; i < CONNECTIONS; i++) {
  const socket = connect({ host, port })
  socket.on('error', () => undefined)
  sockets.push(socket)
}
await Promise.all(sockets.map((s) => new Promise((resolve) => s.once('connect', resolve))))
const taken = await Promise.all(sockets.map(hostile))
await sleep(1_000)
const during = rssMiB()
const servedDuring = await answers()
const closedByBroker = sockets.filter((s) => s.destroyed || s.readableEnded).length
for (const s of sockets) s.destroy()
await sleep(5_000)
clearInterval(sampler)
const after = rssMiB()
const servedAfter = await answers()
broker.kill('SIGTERM')

const mib = (n: number): string => `${n.toFixed(0)} MiB`
console.log(`broker flags: ${extra.length === 0 ? '(defaults)' : extra.join(' ')}`)
console.log(`hostile load: ${CONNECTIONS} connections, each announcing ${DECLARED / 2 ** 20} MiB and sending up to ${SENT / 2 ** 20} MiB`)
console.log(`bytes the broker let in (written before the connection stalled): ${mib(taken.reduce((a, b) => a + b, 0) / 2 ** 20)} of ${mib((CONNECTIONS * SENT) / 2 ** 20)}`)
console.log(`RSS before ${mib(before)}, during ${mib(during)} (peak ${mib(peak)}), after the sockets closed ${mib(after)}`)
console.log(`connections closed by the broker before the end: ${closedByBroker} of ${CONNECTIONS}`)
console.log(`the broker answered a CreateTopics during the load: ${servedDuring}, after it: ${servedAfter}`)
