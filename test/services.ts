import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What global setup hands to every test file, through the environment. */
export interface TestServices {
  postgresUrl: string;
  templateDatabase: string;
  temporalAddress: string;
  /** The dev server's web UI, so links to a workflow can be followed in the browser tests. */
  temporalUiUrl: string;
  workflowBundlePath: string;
}

const ENV_KEY = 'LEADLINE_TEST_SERVICES';

export function publishServices(services: TestServices): void {
  process.env[ENV_KEY] = JSON.stringify(services);
}

export function testServices(): TestServices {
  const raw = process.env[ENV_KEY];
  if (!raw) throw new Error('Test services are not running: run the tests with `npm test`');
  return JSON.parse(raw) as TestServices;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A scratch folder under the system temp dir, which the `postgres` user can reach when we run as root. */
export function scratchDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(path, 0o755);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
