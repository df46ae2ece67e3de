import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readConfig, type Config } from './config.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The nearest package.json above this module: the checkout's, or the one beside `dist/` in the image. */
function packageVersion(): string {
  for (let dir = here; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${here}`);
  }
}

/** Null where there is no git or no repository (the production image has neither). */
function gitShortCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).toString().trim() || null;
  } catch {
    return null;
  }
}

let fromSource: string | undefined;

/**
 * Which build this process runs, as workers report it to Temporal: `LEADLINE_BUILD_ID` where a deploy
 * stamps one, else `<package version>+<git short commit>`, else the version alone. Read once per process,
 * so a checkout that moves on while a worker runs does not change what the worker says it is.
 */
export function leadlineBuildId(config: Pick<Config, 'LEADLINE_BUILD_ID'> = readConfig()): string {
  if (config.LEADLINE_BUILD_ID) return config.LEADLINE_BUILD_ID;
  if (fromSource === undefined) {
    const commit = gitShortCommit();
    fromSource = commit ? `${packageVersion()}+${commit}` : packageVersion();
  }
  return fromSource;
}
