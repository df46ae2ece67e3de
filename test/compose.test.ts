import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { searchAttributes } from '../workflows/definitions.js';

// docker-compose.yml cannot run here (no Docker engine); these checks keep it in step with the code.
const compose = readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8');

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
});
