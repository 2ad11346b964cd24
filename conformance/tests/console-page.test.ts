/**
 * Invariant: `baton console` shows a real group as it is. A group of the framework's apps runs on
 * the embedded broker while records are produced; a second app joins, the group rebalances, and the
 * page (in Debian's Chromium, headless) shows both members with the partitions each owns (the same
 * as the admin API says), a new generation in the rebalance timeline with the ownership split
 * between them, a lag chart with one line per partition, and records per second in and out. No
 * console errors. Screenshots are kept in conformance/artifacts/console/.
 */
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { chromium, type Browser, type Locator, type Page } from 'playwright-core'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { Admin } from '../../src/client/admin/admin.js'
import { describeGroupLag } from '../../src/client/admin/consumer-group-lag.js'
import { Producer } from '../../src/client/producer/producer.js'
import { startConsole, type ConsoleServer } from '../../src/console/server.js'
import { baton, type BatonApp } from '../../src/processing/app.js'
import { silentLogger } from '../../src/processing/logger.js'

const ARTIFACTS = process.env.BATON_ARTIFACTS_DIR ?? join(import.meta.dirname, '..', 'artifacts', 'console')
const TOPIC = 'console-orders'
const GROUP = 'console-billing'
const PARTITIONS = 4

/** Polls the page until `check` passes, failing with what it last saw. */
async function until(page: Page, what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`page never showed ${what}; it shows:\n${await page.locator('main').innerText()}`)
    await page.waitForTimeout(200)
  }
}

async function attributes(cells: Locator, name: string): Promise<Array<string | null>> {
  const values: Array<string | null> = []
  for (let i = 0; i < (await cells.count()); i++) values.push(await cells.nth(i).getAttribute(name))
  return values
}

function app(broker: EmbeddedBroker, name: string): BatonApp {
  const a = baton({ brokers: broker.bootstrap, groupId: GROUP, commitIntervalMs: 200, signals: false, logger: silentLogger, kafka: { clientId: name } })
  a.consume(TOPIC, async () => {
    await new Promise((resolve) => setTimeout(resolve, 4))
  })
  return a
}

describe('baton console in headless Chromium', () => {
  let browser: Browser
  let broker: EmbeddedBroker
  let admin: Admin
  let server: ConsoleServer
  let producer: Producer
  let feeding: NodeJS.Timeout | undefined
  const apps: BatonApp[] = []
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    broker = await startBroker({ port: 0 })
    broker.createTopic(TOPIC, { partitions: PARTITIONS })
    admin = new Admin({ bootstrapServers: broker.bootstrap })
    await admin.connect()
    server = await startConsole({ admin, bootstrap: broker.bootstrap, port: 0, intervalMs: 300 })
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
  })
  after(async () => {
    clearInterval(feeding)
    await Promise.all(apps.map((a) => a.stop()))
    await producer?.close()
    await browser?.close()
    await server?.close()
    await admin?.close()
    await broker?.stop()
  })

  it('shows members, assignment, lag over time, rate and the rebalance when a second app joins', { timeout: 180_000 }, async () => {
    producer = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 5 })
    // A backlog, then a steady stream: lag to chart and records per second in both directions.
    await Promise.all(Array.from({ length: 800 }, (_, i) => producer.send({ topic: TOPIC, key: `k${i % 50}`, value: `order ${i}` })))
    let n = 0
    feeding = setInterval(() => {
      for (let i = 0; i < 20; i++) void producer.send({ topic: TOPIC, key: `k${n % 50}`, value: `order live ${n++}` }).catch(() => undefined)
    }, 100)

    const first = app(broker, 'billing-a')
    apps.push(first)
    await first.start()

    const page = await browser.newPage({ viewport: { width: 1500, height: 1100 } })
    const problems: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))
    await page.goto(`${server.url}#${GROUP}`)
    const group = page.locator(`[data-testid=group][data-group=${GROUP}]`)
    await until(page, 'one member owning every partition', async () => {
      if ((await group.count()) === 0) return false
      const members = await group.locator('[data-testid=member-count]').innerText()
      const assignment = await group.locator('[data-testid=members] [data-testid=assignment]').allInnerTexts()
      return members === '1' && assignment.length === 1 && assignment[0]!.split(', ').length === PARTITIONS
    })
    assert.equal(await page.locator(`[data-testid=groups] li[data-group=${GROUP}]`).count(), 1)
    assert.equal(await group.locator('[data-testid=group-protocol]').innerText(), 'classic')
    await until(page, 'a lag chart with a line per partition and a few points', async () => {
      const canvas = group.locator('[data-testid=lag-chart]')
      return (await canvas.getAttribute('data-datasets')) === String(PARTITIONS) && Number(await canvas.getAttribute('data-points')) >= 4
    })
    await until(page, 'records per second in and out', async () => Number(await group.locator('[data-testid=rate-in]').innerText()) > 0 && Number(await group.locator('[data-testid=rate-out]').innerText()) > 0)
    await page.screenshot({ path: join(ARTIFACTS, 'console-one-member.png'), fullPage: true })
    const generationsBefore = await group.locator('[data-testid=rebalances] tbody tr').count()

    // A second app joins: the group rebalances and the partitions are split between the two.
    const second = app(broker, 'billing-b')
    apps.push(second)
    await second.start()
    await until(page, 'two members sharing the partitions, and a new generation in the timeline', async () => {
      if ((await group.locator('[data-testid=member-count]').innerText()) !== '2') return false
      if ((await group.locator('[data-testid=group-state]').innerText()) !== 'Stable') return false
      const assignment = await group.locator('[data-testid=members] [data-testid=assignment]').allInnerTexts()
      if (assignment.length !== 2 || assignment.some((a) => a === '(none)')) return false
      if (assignment.flatMap((a) => a.split(', ')).length !== PARTITIONS) return false
      const latest = group.locator('[data-testid=rebalances] tbody tr').first()
      const owners = new Set(await attributes(latest.locator('[data-owner]'), 'data-owner'))
      return (await group.locator('[data-testid=rebalances] tbody tr').count()) > generationsBefore && owners.size === 2
    })

    // What the page shows is what the admin API says.
    const truth = await describeGroupLag(admin, GROUP)
    const rows = group.locator('[data-testid=members] tbody tr')
    const shown: Array<{ member: string | null; assignment: string }> = []
    for (let i = 0; i < (await rows.count()); i++) {
      shown.push({ member: await rows.nth(i).getAttribute('data-member'), assignment: await rows.nth(i).locator('[data-testid=assignment]').innerText() })
    }
    assert.deepEqual(
      shown.map((s) => s.member).sort(),
      truth.members.map((m) => m.memberId).sort(),
    )
    for (const m of truth.members) {
      const onPage = shown.find((s) => s.member === m.memberId)!.assignment.split(', ').sort()
      assert.deepEqual(onPage, m.assignment.map((tp) => `${tp.topic}-${tp.partition}`).sort())
    }
    const clientIds = await group.locator('[data-testid=members] tbody tr td:nth-child(2)').allInnerTexts()
    assert.deepEqual(clientIds.sort(), ['billing-a', 'billing-b'])
    const hosts = await group.locator('[data-testid=members] tbody tr td:nth-child(3)').allInnerTexts()
    assert.deepEqual(hosts, ['/127.0.0.1', '/127.0.0.1'])
    assert.equal(await group.locator('[data-testid=partitions] tbody tr').count(), PARTITIONS)
    await page.waitForTimeout(1500) // a few more samples after the rebalance, for the screenshot
    await page.screenshot({ path: join(ARTIFACTS, 'console-rebalanced.png'), fullPage: true })
    assert.deepEqual(problems, [])
    await page.close()
  })
})
