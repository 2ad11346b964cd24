/**
 * The chaos report: `report.json` (everything, for tools) and `report.txt` (for people): the
 * figures, every change with its time, every duplicate with what explains it, and every loss.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DRAIN_START, type ChaosResult } from './run.js'

export function summaryLines(result: ChaosResult): string[] {
  const { account: a, config } = result
  const by = a.byExplanation
  const exactlyOnce = a.countedFrom === 'outcomes'
  const explained = explanations(by)
  return [
    `seed ${config.seed}, ${config.mode} mode, ${config.delivery}${config.groupProtocol === 'consumer' ? ', KIP-848 group protocol' : ''}: ${membershipChanges(result)} membership changes ` +
      `(${count(result, 'start')} starts, ${count(result, 'sigterm')} SIGTERMs, ${count(result, 'sigkill')} SIGKILLs${config.zombies ? `, ${count(result, 'sigstop')} zombies (SIGSTOP past the session, then SIGCONT)` : ''}) ` +
      `and ${count(result, 'broker-restart')} broker restarts in ${(result.durationMs / 1000).toFixed(0)} s`,
    `records: ${a.produced} acknowledged, ${a.processed} ${exactlyOnce ? 'with an outcome' : 'processed'}, ${a.lost.length} lost` +
      (result.unacknowledgedSends > 0 ? ` (${result.unacknowledgedSends} sends never acknowledged, not counted)` : '') +
      (exactlyOnce ? ` (outcomes counted from the ${result.outcomesFrom})` : ''),
    ...(exactlyOnce
      ? [
          `duplicated outcomes: ${a.duplicates.length} (must be 0${a.duplicates.length === 0 ? '' : `; ${a.extraEffects} extra outcomes: ${explained}`})`,
          `handler runs: ${a.handlerRuns}; ${a.redone.runs} ran a record again (${a.redone.records} records, their earlier outcome never counted): ${explanations(a.redone.byExplanation)}`,
        ]
      : [`duplicated records: ${a.duplicates.length} (${a.extraEffects} extra effects): ${explained}`]),
    `session losses (onLost): ${result.sessionLosses}`,
    result.failures.length === 0 ? 'PASSED' : `FAILED: ${result.failures.join('; ')}`,
    `replay with: baton chaos --seed ${config.seed} --mode ${config.mode} --changes ${config.changes}` +
      (config.zombies ? ' --zombies' : '') +
      (config.groupProtocol === 'consumer' ? ' --group-protocol consumer' : '') +
      (config.delivery === 'at-least-once' ? '' : ` --delivery ${config.delivery}`) +
      (config.delivery === 'store' ? ' --store <the same PostgreSQL url>' : ''),
    ...(result.storeTables !== undefined && result.failures.length > 0 ? [`kept for a look: tables ${result.storeTables.rows} and ${result.storeTables.offsets}`] : []),
  ]
}

function explanations(by: ChaosResult['account']['byExplanation']): string {
  return `${by.sigkill} after a SIGKILL, ${by['session-loss']} after a session loss,${by.zombie > 0 ? ` ${by.zombie} by or after a zombie,` : ''} ${by['commit-failed']} after a failed commit, ${by.unexplained} unexplained`
}

/** The membership changes the schedule made: starts, SIGTERMs, SIGKILLs and zombies. */
export function membershipChanges(result: ChaosResult): number {
  return count(result, 'start') + count(result, 'sigterm') + count(result, 'sigkill') + count(result, 'sigstop')
}

/** Changes of one kind that the schedule made (not skipped, not the drain's start) after the group formed. */
export function count(result: ChaosResult, action: string): number {
  const unscheduled = (note: string | undefined): boolean => note !== undefined && (note.startsWith('skipped') || note.startsWith(DRAIN_START))
  return result.changes.filter((c) => c.n > 0 && c.action === action && !unscheduled(c.note)).length
}

/** Writes both files into the run's folder; returns the text report's path. */
export function writeChaosReport(result: ChaosResult): string {
  const { account: a } = result
  const lines = [...summaryLines(result), '', 'changes:']
  for (const c of result.changes) {
    lines.push(`  ${String(c.n).padStart(4)}  +${(c.atMs / 1000).toFixed(1).padStart(7)} s  ${c.action}${c.member === undefined ? '' : ` ${c.member}`}${c.note === undefined ? '' : `  (${c.note})`}`)
  }
  lines.push('', `duplicated ${a.countedFrom === 'outcomes' ? 'outcomes' : 'records'} (${a.duplicates.length}):`)
  for (const d of a.duplicates) {
    const effects = d.effects.map((e) => `${e.member}@${e.offset}`).join(', ')
    lines.push(`  id ${d.id} partition ${d.partition}: ${effects}; ${d.explanation}: ${d.because.join('; ')}`)
  }
  if (a.countedFrom === 'outcomes') {
    lines.push('', `records run again that no SIGKILL, session loss or zombie explains (${a.redone.unexplained.length}; their outcome counted once):`)
    for (const d of a.redone.unexplained) lines.push(`  id ${d.id} partition ${d.partition}: ${d.effects.map((e) => `${e.member}@${e.offset}`).join(', ')}; ${d.because.join('; ')}`)
  }
  lines.push('', `lost records (${a.lost.length}):${a.lost.length === 0 ? ' none' : ''}`)
  if (a.lost.length > 0) lines.push(`  ${a.lost.join(', ')}`)
  const text = join(result.config.outDir, 'report.txt')
  writeFileSync(text, lines.join('\n') + '\n')
  writeFileSync(join(result.config.outDir, 'report.json'), JSON.stringify(result, null, 1) + '\n')
  return text
}
