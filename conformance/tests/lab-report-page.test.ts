/**
 * Invariant: the lab's report page loads in a real browser (Debian's Chromium, headless) with no
 * console errors, and shows the results table and one timeline per strategy.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { chromium, type Browser } from 'playwright-core'
import { ObservationRecorder } from '../../src/lab/observation.js'
import { renderHtmlReport } from '../../src/lab/report-html.js'
import { summarize } from '../../src/lab/verify.js'

function sampleReport(): string {
  let now = 0
  const observations = ['naive', 'baton'].map((strategy) => {
    const recorder = new ObservationRecorder(() => now)
    recorder.assigned('consumer-1', [0, 1])
    for (let id = 0; id < 20; id++) {
      now += 10
      recorder.effect(id, id % 2, id >> 1, 'consumer-1')
    }
    if (strategy === 'naive') recorder.effect(3, 1, 1, 'consumer-2')
    return recorder.finish(strategy, 20)
  })
  return renderHtmlReport({ title: 'baton lab', configuration: { seed: 1 }, outcomes: observations.map((o) => summarize(o)), observations, partitions: 2 })
}

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

  it('loads without console errors and shows the table and the timelines', async () => {
    const file = join(dir, 'index.html')
    writeFileSync(file, sampleReport())
    const page = await browser.newPage()
    const problems: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))
    await page.goto(pathToFileURL(file).href)
    assert.deepEqual(problems, [])
    assert.equal(await page.locator('#results tbody tr').count(), 2)
    assert.ok(await page.locator('#results').isVisible())
    assert.equal(await page.locator('section svg').count(), 2)
    assert.equal(await page.locator('#results tbody tr').first().locator('td').first().textContent(), 'naive')
    await page.close()
  })
})
