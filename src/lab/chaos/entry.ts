/**
 * How the chaos parent starts one of its child entries (`member-main` here, `cli/warm-broker` for the
 * broker, which runs the `baton broker` command itself). In a development
 * checkout they are TypeScript and run through tsx's loader, as the `baton` command itself does; an
 * installed package runs the compiled files.
 */
import { fileURLToPath } from 'node:url'

const TYPESCRIPT = import.meta.url.endsWith('.ts')

/** `node` arguments that run the entry at `path` (relative to this folder, without extension). */
export function entryArgs(path: string): string[] {
  const file = fileURLToPath(new URL(`${path}${TYPESCRIPT ? '.ts' : '.js'}`, import.meta.url))
  return TYPESCRIPT ? ['--import', import.meta.resolve('tsx'), file] : [file]
}
