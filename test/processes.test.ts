import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { ServiceProcess } from '../scripts/services/process.js';
import { startHarness, type Harness } from './harness.js';
import { freePort, scratchDir, testServices } from './services.js';

/**
 * The API as production runs it: `api/server.ts` in a process of its own under Node's own ESM loader,
 * which refuses imports that Jest's transform lets through (a CommonJS package's named exports).
 */
let h: Harness;
const scratch = scratchDir('leadline-api-process-');

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
  scratch.remove();
});

describe('the API process', () => {
  it('starts from api/server.ts, is ready with Postgres and Temporal, and answers its routes', async () => {
    const port = await freePort();
    const api = new ServiceProcess({
      name: 'API',
      command: process.execPath,
      args: ['--import', 'tsx', 'api/server.ts'],
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'warn', PORT: String(port), DATABASE_URL: h.databaseUrl, TEMPORAL_ADDRESS: testServices().temporalAddress },
      logFile: `${scratch.path}/api.log`,
      ready: async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok,
      readyTimeoutMs: 60_000,
    });
    await api.start();
    try {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      const login = await fetch(`http://127.0.0.1:${port}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ops@leadline.test', password: 'leadline' }),
      });
      expect(login.status).toBe(200);
      const { token } = (await login.json()) as { token: string };
      const system = await fetch(`http://127.0.0.1:${port}/api/system`, { headers: { authorization: `Bearer ${token}` } });
      expect(system.status).toBe(200);
      expect(((await system.json()) as { temporal: { serverVersion: string } }).temporal.serverVersion).toMatch(/^\d+\.\d+/);
    } finally {
      await api.stop();
    }
  }, 90_000);
});
