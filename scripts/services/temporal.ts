import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { searchAttributes } from '../../workflows/definitions.js';
import { findOrBuildTool, temporalCli } from './tools.js';

/** Where the CLI's build is cached (`~/.cache/leadline/bin`). */
export const toolsDir = temporalCli.dir;

const say = (line: string) => console.log(`[temporal] ${line}`);

/**
 * The `temporal` CLI: one on PATH, else the cached build, else a fresh `go install` into the cache.
 * Null means none can be had here; the caller then falls back to the SDK's download.
 */
export function findTemporalBinary(): string | null {
  return findOrBuildTool(temporalCli, say);
}

export interface DevServerOptions {
  port: number;
  /** The Web UI; omitted for a headless server (tests). */
  uiPort?: number;
  /** SQLite file that keeps workflows across restarts; omitted for an in-memory server. */
  dbFile?: string;
  /** `--sqlite-pragma` settings for that file, such as `{ journal_mode: 'wal' }`. */
  sqlitePragmas?: Record<string, string>;
  log?: (line: string) => void;
}

export interface RunningTemporal {
  address: string;
  stop(): Promise<void>;
}

const pragmaArgs = (options: DevServerOptions) => Object.entries(options.sqlitePragmas ?? {}).flatMap(([pragma, value]) => ['--sqlite-pragma', `${pragma}=${value}`]);

function devServerArgs(options: DevServerOptions): string[] {
  const args = ['--ip', '127.0.0.1', '--namespace', 'default', '--log-level', 'warn'];
  args.push('--dynamic-config-value', 'frontend.enableServerVersionCheck=false');
  for (const key of Object.values(searchAttributes)) args.push('--search-attribute', `${key.name}=${key.type}`);
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  args.push(...pragmaArgs(options));
  if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  return args;
}

export async function waitForTemporal(address: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`Temporal at ${address} did not come up: ${String(lastError)}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts `temporal server start-dev` with Leadline's search attributes and waits until it answers. */
export async function startTemporalDevServer(options: DevServerOptions): Promise<RunningTemporal> {
  const address = `127.0.0.1:${options.port}`;
  const log = options.log ?? ((line) => say(line));
  const binary = findTemporalBinary();
  if (!binary) {
    log('falling back to the SDK download of the dev server (needs the internet)');
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        ip: '127.0.0.1',
        port: options.port,
        ...(options.uiPort ? { ui: true, uiPort: options.uiPort } : {}),
        ...(options.dbFile ? { dbFilename: options.dbFile } : {}),
        searchAttributes: Object.values(searchAttributes),
        extraArgs: ['--dynamic-config-value', 'frontend.enableServerVersionCheck=false', ...pragmaArgs(options)],
      },
    });
    return { address, stop: () => env.teardown() };
  }
  const child = spawn(binary, ['server', 'start-dev', '--port', String(options.port), ...devServerArgs(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const forward = (chunk: Buffer) => chunk.toString().split('\n').filter(Boolean).forEach(log);
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`temporal server exited with code ${code}`))),
  );
  exited.catch(() => undefined);
  await Promise.race([waitForTemporal(address), exited]);
  const stop = () => {
    // Its shutdown chatter (dial errors as services go down) is noise, not news.
    child.stdout?.off('data', forward);
    child.stderr?.off('data', forward);
    return stopChild(child);
  };
  return { address, stop };
}
