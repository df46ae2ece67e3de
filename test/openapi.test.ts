import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { compileErrors, validate } from '@readme/openapi-parser';
import type { Express } from 'express';
import request from 'supertest';
import { operations } from '../api/openapi.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(() => h?.stop());

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every method and path the app's `/api` router answers, read from Express itself. */
function apiRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) for (const method of Object.keys(layer.route.methods)) found.push(`${method} ${layer.route.path}`);
      else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  // Outside `/api`: health and metrics, the provider webhooks, and the web app's own pages.
  return found.filter((route) => !/ \/(healthz|readyz|metrics|webhooks|unsubscribe|docs|openapi\.json)/.test(route) && !route.includes('undefined'));
}

describe('the OpenAPI document', () => {
  it('is served and is a valid OpenAPI 3.1 document', async () => {
    const res = await request(h.app).get('/api/openapi.json').expect(200);
    expect(res.body.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(res.body));
    expect(result.valid ? 'valid' : compileErrors(result)).toBe('valid');
  });

  it('documents exactly the routes the API has', () => {
    const documented = operations.map((operation) => `${operation.method} ${operation.path}`).sort();
    expect(apiRoutes(h.app).sort()).toEqual(documented);
  });

  it('describes a body with the fields the route accepts and refuses others', async () => {
    const res = await request(h.app).get('/api/openapi.json').expect(200);
    const create = res.body.paths['/api/leads'].post.requestBody.content['application/json'].schema;
    expect(create).toMatchObject({ type: 'object', additionalProperties: false, required: ['name'] });
    expect(Object.keys(create.properties).sort()).toEqual(['email', 'name', 'notes', 'phone', 'priority', 'source', 'teamId', 'value']);
    const manager = await h.login('north.manager@leadline.test');
    const refused = await request(h.app).post('/api/leads').set('Authorization', manager).send({ name: 'X', email: 'x@example.com', owner: 'me' }).expect(400);
    expect(refused.body.error.details).toEqual([{ path: 'owner', message: 'is not a known field' }]);
  });

  it('renders a reference page from it', async () => {
    const page = await request(h.app).get('/api/docs/').expect(200);
    expect(page.text).toContain('swagger-ui');
    const start = await request(h.app).get('/api/docs/swagger-initializer.js').expect(200);
    expect(start.text).toContain("url: '/api/openapi.json'");
  });
});
