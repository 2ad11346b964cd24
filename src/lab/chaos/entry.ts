/**
 * How the chaos parent starts one of its child entries (member-main, broker-main). In a development
 * checkout they are TypeScript and run through tsx's loader, as the `baton` command itself does; an
 * installed package runs the compiled files.
 */
import { fileURLToPath } from 'node:url'

const TYPESCRIPT = import.meta.url.endsWith('.ts')

/** `node` arguments that run the entry `name` (without extension) of this folder. */
export function entryArgs(name: string): string[] {
  const file = fileURLToPath(new URL(`./${name}${TYPESCRIPT ? '.ts' : '.js'}`, import.meta.url))
  return TYPESCRIPT ? ['--import', import.meta.resolve('tsx'), file] : [file]
}
