import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { clusterConfigDir, temporalSchemas } from '../scripts/services/cluster.js';
import { searchAttributes } from '../workflows/definitions.js';

// docker-compose.yml cannot run here (no Docker engine); these checks keep it in step with the code.
const compose = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8');
const root = fileURLToPath(new URL('..', import.meta.url));

describe('docker-compose.yml', () => {
  it('registers exactly the search attributes the workflow upserts, with their types', () => {
    const registered = [...compose.matchAll(/--name (\w+) --type (\w+)/g)].map(([, name, type]) => `${name}=${type}`);
    const expected = Object.values(searchAttributes).map((key) => `${key.name}=${key.type}`);
    const normalise = (pairs: string[]) => pairs.map((p) => p.toLowerCase()).sort();
    expect(normalise(registered)).toEqual(normalise(expected));
  });

  it('runs compiled entry points that exist as sources', () => {
    const entries = [...compose.matchAll(/"dist\/([\w/-]+)\.js"/g)].map(([, path]) => path);
    expect(entries.sort()).toEqual(['api/server', 'scripts/migrate', 'worker']);
    for (const entry of entries) expect(existsSync(new URL(`../${entry}.ts`, import.meta.url))).toBe(true);
  });

  it('mounts the Temporal config folder npm run cluster uses, and its UI config, both of which exist', () => {
    const mounts = [...compose.matchAll(/^\s+- \.\/(deploy\/[\w./-]+):/gm)].map(([, path]) => path);
    expect(mounts.sort()).toEqual(['deploy/temporal', 'deploy/temporal/ui.yaml']);
    expect(relative(root, clusterConfigDir)).toBe('deploy/temporal');
    for (const path of mounts) expect(existsSync(join(root, path!))).toBe(true);
  });

  it('starts the server from server.yaml in that folder, whose dynamic config file is there too', () => {
    expect(compose).toContain('"--config", ".", "--env", "server"');
    const serverConfig = readFileSync(join(clusterConfigDir, 'server.yaml'), 'utf8');
    const dynamicConfig = /^\s+filepath: ([\w.-]+)$/m.exec(serverConfig)?.[1];
    expect(dynamicConfig).toBe('dynamic-config.yaml');
    expect(existsSync(join(clusterConfigDir, dynamicConfig!))).toBe(true);
  });

  it('sets up the same schemas with the SQL tool as npm run cluster', () => {
    const schemas = [...compose.matchAll(/--schema-name ([\w/]+)/g)].map(([, name]) => name);
    expect(schemas.sort()).toEqual(Object.values(temporalSchemas).sort());
  });
});
