import { execFile } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Checkout {
  /** The ref as given, and the commit it names. */
  ref: string;
  commit: string;
  dir: string;
  /** How its node_modules came about, for the report. */
  dependencies: string;
  remove(): Promise<void>;
}

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const readJson = <T>(file: string) => JSON.parse(readFileSync(file, 'utf8')) as T;

/**
 * What the ref's package.json asks for that this checkout's node_modules does not have at that exact
 * version. Leadline pins exact versions, so an empty answer means the ref runs on these packages as
 * `npm ci` would have installed them for it (transitive versions aside, which the lockfile pins alike).
 */
function missingDependencies(refDir: string, installedRoot: string): string[] {
  const wanted = readJson<PackageJson>(join(refDir, 'package.json'));
  const missing: string[] = [];
  for (const [name, version] of Object.entries({ ...wanted.dependencies, ...wanted.devDependencies, ...wanted.optionalDependencies })) {
    const manifest = join(installedRoot, 'node_modules', name, 'package.json');
    const installed = existsSync(manifest) ? readJson<{ version: string }>(manifest).version : null;
    if (installed !== version) missing.push(`${name}@${version} (here: ${installed ?? 'none'})`);
  }
  return missing;
}

/**
 * The code of `ref` in a git worktree under `dir`, with dependencies: this checkout's node_modules
 * linked in when it has every package the ref names at the ref's version, else a clean `npm ci` of the
 * ref's own lockfile (minutes; said in the report).
 */
export async function checkOut(repoRoot: string, ref: string, dir: string, say: (line: string) => void): Promise<Checkout> {
  const commit = (await run('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: repoRoot })).stdout.trim();
  await run('git', ['worktree', 'add', '--detach', dir, commit], { cwd: repoRoot });
  const remove = async () => {
    await run('git', ['worktree', 'remove', '--force', dir], { cwd: repoRoot }).catch((error: unknown) => say(`could not remove the worktree ${dir}: ${String(error)}`));
  };
  try {
    const sameLock = readFileSync(join(dir, 'package-lock.json'), 'utf8') === readFileSync(join(repoRoot, 'package-lock.json'), 'utf8');
    const missing = missingDependencies(dir, repoRoot);
    let dependencies: string;
    if (missing.length === 0) {
      symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
      dependencies = sameLock
        ? 'same package-lock.json as this checkout: its node_modules linked in'
        : `every package ${ref}'s package.json names is installed here at that version: this checkout's node_modules linked in`;
    } else {
      say(`${ref} needs packages this checkout does not have (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}): npm ci in the worktree`);
      await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
      dependencies = `installed with npm ci from ${ref}'s lockfile: ${missing.length} package(s) differ from this checkout (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})`;
    }
    return { ref, commit, dir, dependencies, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** HEAD's commit and whether the working tree has changes on top of it, for the report's "to" line. */
export async function describeWorkingTree(repoRoot: string): Promise<string> {
  const head = (await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot })).stdout.trim();
  const changed = (await run('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot })).stdout.trim();
  return `the working tree (HEAD ${head}${changed ? ` with ${changed.split('\n').length} changed file(s)` : ''})`;
}
