/**
 * Invariant: the lab's report page, as a real (short) lab run writes it, loads in a real browser
 * (Debian's Chromium, headless) with no console errors, and shows the results table and one
 * timeline per strategy.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { chromium, type Browser } from 'playwright-core'
import { runLab } from '../../src/lab/lab.js'
import { STRATEGY_NAMES } from '../../src/lab/strategies/index.js'

describe('lab report page in headless Chromium', () => {
  let browser: Browser
  let dir: string
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'baton-report-'))
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
  })
  after(async () => {
    await browser.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('a page from a short real lab run loads without console errors and shows the table and the timelines', { timeout: 60_000 }, async () => {
    // A few seconds of lab: every strategy, one consumer joining mid-stream.
    await runLab({ records: 120, partitions: 2, handlerMs: 10, consumers: 1, script: 'join@300ms', outDir: dir })
    const file = join(dir, 'index.html')
    const page = await browser.newPage()
    const problems: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))
    await page.goto(pathToFileURL(file).href)
    assert.deepEqual(problems, [])
    assert.equal(await page.locator('#results tbody tr').count(), STRATEGY_NAMES.length)
    assert.ok(await page.locator('#results').isVisible())
    assert.equal(await page.locator('section svg').count(), STRATEGY_NAMES.length)
    assert.deepEqual(await page.locator('#results tbody tr td:first-child').allTextContents(), [...STRATEGY_NAMES])
    // Every strategy processed all 120 records (the "processed" column, after strategy, guarantee and produced).
    assert.deepEqual(await page.locator('#results thead th:nth-child(4)').allTextContents(), ['processed'])
    assert.deepEqual(await page.locator('#results tbody tr td:nth-child(4)').allTextContents(), STRATEGY_NAMES.map(() => '120'))
    assert.match((await page.locator('#verdict').textContent()) ?? '', /^expected results: /)
    await page.close()
  })
})
