import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Outside any clone, so every checkout on this machine reuses one build of each tool. */
export const toolsCacheDir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'leadline');

/** A Go program Leadline runs, built from its module with `go install` when it is nowhere to be found. */
export interface GoTool {
  /** What the output calls it. */
  label: string;
  /** `path@version`, as `go install` takes it. */
  module: string;
  /** Its own folder in the cache (GOBIN for the build): two of these are both called `server`. */
  dir: string;
  /** The name it goes by on PATH (release archives and images name these differently from `go install`). */
  pathName: string;
  /** Take the one on PATH only when its `--version` says this (its schema or API must match ours). */
  pathVersion?: string;
}

const version = (module: string) => module.slice(module.lastIndexOf('@v') + 2);

function goTool(label: string, module: string, folder: string, pathName: string, checkVersion: boolean): GoTool {
  return { label, module, dir: join(toolsCacheDir, folder), pathName, ...(checkVersion ? { pathVersion: version(module) } : {}) };
}

/** v1.5.1 is the newest CLI tag `go install` can build: later tags use a `replace` directive. */
export const temporalCli = goTool('temporal CLI', 'github.com/temporalio/cli/cmd/temporal@v1.5.1', 'bin', 'temporal', false);
const SERVER = 'go.temporal.io/server/cmd/server@v1.29.1';
export const temporalServer = goTool('Temporal server', SERVER, `temporal-server-${version(SERVER)}`, 'temporal-server', true);
const SQL_TOOL = 'go.temporal.io/server/cmd/tools/sql@v1.29.1';
export const temporalSqlTool = goTool('Temporal SQL schema tool', SQL_TOOL, `temporal-sql-${version(SQL_TOOL)}`, 'temporal-sql-tool', true);
const UI_SERVER = 'github.com/temporalio/ui-server/v2/cmd/server@v2.42.1';
export const temporalUiServer = goTool('Temporal UI server', UI_SERVER, `temporal-ui-${version(UI_SERVER)}`, 'ui-server', true);

/** The binary `go install` writes: the module path's last element. */
export const cachedBinary = (tool: GoTool) => join(tool.dir, tool.module.slice(0, tool.module.lastIndexOf('@')).split('/').pop()!);

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return null;
}

function goInstall(tool: GoTool, extraEnv: NodeJS.ProcessEnv): boolean {
  const result = spawnSync('go', ['install', tool.module], { stdio: 'inherit', env: { ...process.env, GOBIN: tool.dir, ...extraEnv } });
  return result.status === 0;
}

/**
 * The tool on PATH, else its cached build, else a fresh `go install` into the cache (minutes, once per
 * machine). Says which it took. Null means none can be had here.
 */
export function findOrBuildTool(tool: GoTool, say: (line: string) => void = (line) => console.log(`[tools] ${line}`)): string | null {
  const fromPath = onPath(tool.pathName);
  if (fromPath) {
    const printed = tool.pathVersion ? spawnSync(fromPath, ['--version'], { encoding: 'utf8' }).stdout : '';
    if (!tool.pathVersion || printed.includes(tool.pathVersion)) {
      say(`${tool.label}: using ${fromPath} (on PATH)`);
      return fromPath;
    }
    say(`${tool.label}: ${fromPath} is not version ${tool.pathVersion}; not using it`);
  }
  const cached = cachedBinary(tool);
  if (isExecutable(cached)) {
    say(`${tool.label}: using ${cached} (cached build)`);
    return cached;
  }
  if (!onPath('go')) {
    say(`${tool.label}: not on PATH, no cached build and no Go toolchain to build one`);
    return null;
  }
  mkdirSync(tool.dir, { recursive: true });
  say(`${tool.label}: building ${tool.module} into ${tool.dir} (a few minutes, once per machine)`);
  if (!goInstall(tool, {})) {
    say(`${tool.label}: go install failed; the module checksums may not be verifiable here, retrying with GONOSUMDB=*`);
    if (!goInstall(tool, { GONOSUMDB: '*', GOFLAGS: '-mod=mod' })) return null;
  }
  say(`${tool.label}: using ${cached} (just built)`);
  return cached;
}
