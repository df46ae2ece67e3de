import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { openApiDocument, operations, type Operation } from '../api/openapi.js';
import { LeadEventSchema, LeadSchema, PolicySchema } from '../db/entities.js';
import { eventually, startHarness, type Harness } from './harness.js';

let h: Harness;
let admin: string;
let apiKey: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness();
  admin = await h.login('admin@leadline.test');
  const manager = await h.login('north.manager@leadline.test');
  const lead = await request(h.app).post('/api/leads').set('Authorization', manager).send({ name: 'Target', email: 'target@example.com' }).expect(201);
  ids.lead = lead.body.lead.id;
  // Settled: assigned, its task made and the assignee's notice sent, so nothing moves during the test.
  await eventually(() => h.orm.em.fork().findOne(LeadEventSchema, { lead: ids.lead!, type: 'message_sent' }));
  ids.policy = (await h.orm.em.fork().findOneOrFail(PolicySchema, { name: { $ne: '' } })).id;
  const key = await request(h.app).post('/api/api-keys').set('Authorization', admin).send({ teamId: (await h.orm.em.fork().findOneOrFail(LeadSchema, ids.lead!)).team.id, name: 'Fuzz' }).expect(201);
  apiKey = key.body.key;
  ids.apiKey = key.body.apiKey.id;
});

afterAll(() => h?.stop());

/** Every table's rows, hashed: "unchanged" means unchanged, not just the same count. */
async function databaseFingerprint(): Promise<Record<string, string>> {
  const tables: { tablename: string }[] = await h.orm.em.getConnection().execute(`select tablename from pg_tables where schemaname = 'public' and tablename not like 'mikro_orm%' order by 1`);
  const result: Record<string, string> = {};
  for (const { tablename } of tables) {
    const [row] = await h.orm.em.getConnection().execute(`select count(*) || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '') as print from "${tablename}" t`);
    result[tablename] = (row as { print: string }).print;
  }
  return result;
}

type JsonSchema = {
  type?: string | string[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  format?: string;
  enum?: unknown[];
  maxLength?: number;
};

/** `a | null` and other unions, read as one schema with several types. */
function flatten(schema: JsonSchema): JsonSchema & { types: string[] } {
  const parts: JsonSchema[] = schema.anyOf ?? [schema];
  return {
    ...(Object.assign({}, ...parts, schema) as JsonSchema),
    types: parts.flatMap((part) => [part.type ?? []].flat()),
  };
}

const INJECTIONS = ["' OR 1=1; DROP TABLE lead; --", '<script>alert(document.cookie)</script>', '${7*7}{{7*7}}', '../../etc/passwd', '\u0000\u202e'];
const WRONG_TYPES: unknown[] = [12345, true, null, [], { nested: { deep: 1 } }, -1.5e308];

/** A field value that cannot be valid for this property, of many kinds. */
function badValues(property: JsonSchema): unknown[] {
  const schema = flatten(property);
  const types = schema.types;
  const values = WRONG_TYPES.filter((value) => {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'object' ? 'object' : typeof value;
    return !types.includes(kind) && !(kind === 'number' && types.includes('integer'));
  });
  if (types.includes('string')) {
    values.push('x'.repeat(Math.max(10_000, (schema.maxLength ?? 0) + 1)));
    // Injection strings where they are never valid: ids, emails, enums, formatted values.
    if (schema.format || schema.enum) values.push(...INJECTIONS);
  }
  if (schema.properties) values.push('not an object');
  return values;
}

function* malformedBodies(schema: JsonSchema): Generator<[string, unknown]> {
  if (schema.required?.length) yield ['an empty body', {}];
  yield ['an array', [schema]];
  yield ['a bare string', 'hello'];
  yield ['an unknown field', { unexpected: INJECTIONS[0] }];
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    for (const value of badValues(property)) yield [`${name} = ${JSON.stringify(value)?.slice(0, 40)}`, { [name]: value }];
    if (property.properties) for (const [nested, value] of [...malformedBodies(property)].slice(0, 3)) yield [`${name}: ${nested}`, { [name]: value }];
  }
}

const concretePath = (operation: Operation) =>
  `/api${operation.path}`.replace(':id', operation.path.startsWith('/policies') ? ids.policy! : operation.path.startsWith('/api-keys') ? ids.apiKey! : ids.lead!);

function requestsFor(operation: Operation): { label: string; send: () => request.Test }[] {
  const document = openApiDocument();
  const described = document.paths[`/api${operation.path.replace(/:(\w+)/g, '{$1}')}`]?.[operation.method] as
    | { requestBody?: { content: { 'application/json': { schema: JsonSchema } } } }
    | undefined;
  const schema = described?.requestBody?.content['application/json'].schema;
  if (!schema) return [];
  const path = concretePath(operation);
  const base = () => {
    const test = request(h.app)[operation.method](path).set('Authorization', admin);
    return operation.security === 'apiKey' ? test.set('X-Api-Key', apiKey) : test;
  };
  const cases = [...malformedBodies(schema)].map(([label, body]) => ({ label, send: () => base().send(body as object) }));
  cases.push({ label: 'broken JSON', send: () => base().set('Content-Type', 'application/json').send('{"name": "x",') });
  cases.push({ label: 'a form body', send: () => base().type('form').send('name=x&email=y') });
  cases.push({ label: 'a body over the size limit', send: () => base().send({ notes: 'x'.repeat(200_000) }) });
  return cases.map((c) => ({ ...c, label: `${operation.method.toUpperCase()} ${operation.path}: ${c.label}` }));
}

describe('malformed requests to every write endpoint', () => {
  it('get a 4xx with the documented error shape, never a 5xx, and change nothing', async () => {
    const writes = operations.filter((operation) => operation.method !== 'get' && operation.path !== '/auth/login');
    const cases = writes.flatMap(requestsFor);
    expect(cases.length).toBeGreaterThanOrEqual(500);

    const before = await databaseFingerprint();
    const failures: string[] = [];
    for (let i = 0; i < cases.length; i += 20) {
      await Promise.all(
        cases.slice(i, i + 20).map(async ({ label, send }) => {
          const res = await send();
          const shapeOk =
            typeof res.body?.error?.code === 'string' &&
            typeof res.body.error.message === 'string' &&
            (res.body.error.details === undefined || Array.isArray(res.body.error.details));
          if (res.status < 400 || res.status >= 500 || !shapeOk) failures.push(`${label} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        }),
      );
    }
    expect(failures).toEqual([]);
    expect(await databaseFingerprint()).toEqual(before);
  }, 120_000);
});
