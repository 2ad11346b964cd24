import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { renderStatus, TerminalProgress } from '../../src/lab/progress.js'
import type { RunStatus } from '../../src/lab/run-strategy.js'
import { summarize } from '../../src/lab/verify.js'
import { ObservationRecorder } from '../../src/lab/observation.js'

const status: RunStatus = { strategy: 'naive', elapsedMs: 2500, processed: 300, total: 1200, extraEffects: 4, members: 3, rebalancing: true }

describe('lab progress', () => {
  it('renders a status line with a bar, counts, duplicates and the group state', () => {
    const line = renderStatus(status)
    assert.match(line, /^naive +\[######\.{18}\] +300\/1200 {2}4 duplicate effects, 3 members, rebalancing, 2\.5 s$/)
  })

  it('writes plain lines (no cursor control) when the output is not a terminal', () => {
    const written: string[] = []
    const progress = new TerminalProgress({ write: (text) => written.push(text), isTTY: false })
    progress.strategyStarted('naive', 0, 3, () => status)
    progress.event('naive', 2000, 'join: consumer-4 joins')
    progress.strategyFinished(summarize(new ObservationRecorder(() => 0).finish('naive', 0)))
    const text = written.join('')
    assert.ok(!text.includes('\x1b'), 'no escape sequences')
    assert.ok(!text.includes('\r'))
    assert.match(text, /^\[1\/3\] naive$/m)
    assert.match(text, /2\.0 s {2}naive: join: consumer-4 joins/)
    assert.match(text, /done: naive: 0\/0 processed, 0 lost, no duplicates/)
  })

  it('strategies side by side: a status line for each running one, and each done line names its strategy', () => {
    const written: string[] = []
    const progress = new TerminalProgress({ write: (text) => written.push(text), isTTY: false })
    progress.strategyStarted('naive', 0, 2, () => status)
    progress.strategyStarted('store', 1, 2, () => ({ ...status, strategy: 'store', processed: 100, extraEffects: 0 }))
    const one = summarize(new ObservationRecorder(() => 0).finish('naive', 0))
    progress.strategyFinished(one)
    progress.strategyFinished({ ...one, strategy: 'store', duplicated: 1 })
    const text = written.join('')
    assert.match(text, /done: naive: 0\/0 processed, 0 lost, no duplicates/)
    assert.match(text, /done: store: 0\/0 processed, 0 lost, 1 record duplicated/)
    // Each strategy's last status line comes with its done line.
    assert.match(text, /^naive +\[######\.+\] +300\/1200/m)
    assert.match(text, /^store +\[#+\.+\] +100\/1200 {2}no duplicates/m)
  })

  it('on a terminal, redraws the running strategies\' lines in place under each event', () => {
    const written: string[] = []
    const progress = new TerminalProgress({ write: (text) => written.push(text), isTTY: true })
    progress.strategyStarted('naive', 0, 2, () => status)
    progress.strategyStarted('store', 1, 2, () => ({ ...status, strategy: 'store' }))
    written.length = 0
    progress.event('store', 2000, 'crash: consumer-2 dies')
    const text = written.join('')
    // Two status lines cleared (the current one, then one up), the event, then both drawn again.
    assert.ok(text.startsWith('\r\x1b[2K\x1b[1A\x1b[2K'), JSON.stringify(text))
    assert.match(text, /store: crash: consumer-2 dies\nnaive +\[.*\nstore +\[/)
    progress.strategyFinished(summarize(new ObservationRecorder(() => 0).finish('naive', 0)))
    progress.strategyFinished(summarize(new ObservationRecorder(() => 0).finish('store', 0)))
  })
})
