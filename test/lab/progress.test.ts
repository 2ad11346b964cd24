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
    assert.match(text, /done: 0\/0 processed, 0 lost, no duplicates/)
  })
})
