import { z, type ZodType } from 'zod';
import { authSchemas } from './routes/auth.js';
import { intakeSchemas } from './routes/intake.js';
import { leadSchemas } from './routes/leads.js';
import { policySchemas } from './routes/policies.js';
import { statsSchemas } from './routes/stats.js';
import { systemSchemas } from './routes/system.js';
import { taskSchemas } from './routes/tasks.js';
import { teamSchemas } from './routes/teams.js';
import { userSchemas } from './routes/users.js';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Security = 'session' | 'apiKey' | 'none';

/** One route as the document describes it; `path` is the Express path under `/api`. */
export interface Operation {
  method: Method;
  path: string;
  summary: string;
  tag: string;
  security: Security;
  body?: ZodType;
  query?: ZodType;
  /** What a successful answer holds, where a schema describes it. */
  response?: ZodType;
  /** Status codes besides the error ones every route shares. */
  success: number;
}

const op = (method: Method, path: string, tag: string, summary: string, extra: Partial<Operation> = {}): Operation => ({
  method,
  path,
  tag,
  summary,
  security: 'session',
  success: method === 'post' && !path.includes('/:') ? 201 : 200,
  ...extra,
});

/** Every `/api` route. A test checks this list against the routes the app really has. */
export const operations: Operation[] = [
  op('post', '/auth/login', 'Sessions', 'Sign in; returns a token, the user and their CASL rules, and sets the session cookie', { body: authSchemas.loginBody, security: 'none', success: 200 }),
  op('post', '/auth/logout', 'Sessions', 'Sign out', { security: 'none', success: 204 }),
  op('get', '/auth/demo-accounts', 'Sessions', 'The demo accounts and their password, for the sign-in page; not in production', { security: 'none', success: 200 }),
  op('get', '/me', 'Sessions', 'The signed-in user and their CASL rules'),

  op('get', '/leads', 'Leads', 'Leads the caller may read, filtered and paged; `total` is exact up to 10,000, past that `totalCapped` is true', { query: leadSchemas.listQuery }),
  op('post', '/leads', 'Leads', 'Create a lead and start its workflow', { body: leadSchemas.createBody }),
  op('get', '/leads/:id', 'Leads', 'A lead with its workflow state, timeline, tasks and Temporal UI link'),
  op('patch', '/leads/:id', 'Leads', 'Edit contact fields, priority, value, notes, timezone', { body: leadSchemas.patchBody }),
  op('post', '/leads/:id/contact', 'Leads', 'Log a contact; the first stops the SLA clock', { body: leadSchemas.contactBody }),
  op('post', '/leads/:id/convert', 'Leads', 'Close as converted (a Temporal update)', { body: leadSchemas.convertBody }),
  op('post', '/leads/:id/lose', 'Leads', 'Close as lost with a reason', { body: leadSchemas.loseBody }),
  op('post', '/leads/:id/pause', 'Leads', 'Stop the lead’s clocks', { body: leadSchemas.pauseBody }),
  op('post', '/leads/:id/resume', 'Leads', 'Restart the lead’s clocks', { body: leadSchemas.resumeBody }),
  op('post', '/leads/:id/reassign', 'Leads', 'Give the lead to another person of its team', { body: leadSchemas.reassignBody }),

  op('post', '/intake', 'Intake', 'Website or form intake; `Idempotency-Key` honoured; an open duplicate is merged (202)', { body: intakeSchemas.intakeBody, security: 'apiKey' }),
  op('get', '/api-keys', 'Intake', 'API keys (admin)'),
  op('post', '/api-keys', 'Intake', 'Create an API key; the key is in this answer only (admin)', { body: intakeSchemas.createKeyBody }),
  op('delete', '/api-keys/:id', 'Intake', 'Revoke an API key (admin)'),

  op('get', '/policies', 'Policies', 'Policies the caller may read, with their current rules'),
  op('post', '/policies', 'Policies', 'Create the policy of a team that has none', { body: policySchemas.createBody }),
  op('get', '/policies/:id', 'Policies', 'A policy and its current rules'),
  op('put', '/policies/:id', 'Policies', 'Save the rules as a new version; open leads take it up at their next step', { body: policySchemas.saveBody }),
  op('get', '/policies/:id/versions', 'Policies', 'Every saved version, newest first'),
  op('post', '/policies/:id/simulate', 'Policies', 'What a draft would change for the team’s open leads', { body: policySchemas.saveBody, success: 200 }),

  op('get', '/users', 'Users and teams', 'Users the caller may read, filtered and paged', { query: userSchemas.listQuery }),
  op('post', '/users', 'Users and teams', 'Create a user (admin)', { body: userSchemas.createBody }),
  op('get', '/users/:id', 'Users and teams', 'A user and their assignment settings'),
  op('patch', '/users/:id', 'Users and teams', 'Change a user; managers change their staff’s assignment settings', { body: userSchemas.patchBody }),
  op('get', '/teams', 'Users and teams', 'Teams the caller may read'),
  op('post', '/teams', 'Users and teams', 'Create a team with the default policy as version 1 (admin)', { body: teamSchemas.createBody }),
  op('get', '/teams/:id', 'Users and teams', 'A team'),
  op('patch', '/teams/:id', 'Users and teams', 'Change a team; its manager changes its hours', { body: teamSchemas.patchBody }),

  op('get', '/tasks', 'Tasks', 'The follow-up inbox: overdue first, then by due time', { query: taskSchemas.listQuery }),
  op('post', '/tasks/:id/complete', 'Tasks', 'Complete a task; a first-contact task logs the contact', { body: taskSchemas.completeBody }),

  op('get', '/stats', 'Stats', 'Speed to lead, SLA attainment, conversion, funnel and escalations; `format=csv` exports', { query: statsSchemas.statsQuery }),

  op('get', '/system', 'System', 'The Temporal cluster the API uses (version, stores, membership), the lead task queue’s pollers with their build ids, and its backlog (ops, admin)', { response: systemSchemas.systemStatus }),
];

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', examples: ['validation_failed'] },
        message: { type: 'string' },
        details: {
          type: 'array',
          items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } },
        },
      },
    },
  },
};

/** A schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect): a request as the caller sends it, a response as the API answers it. */
function jsonSchema(schema: ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

function queryParameters(schema: ZodType) {
  const json = jsonSchema(schema) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema: property,
  }));
}

const toOpenApiPath = (path: string) => `/api${path.replace(/:(\w+)/g, '{$1}')}`;

/** The OpenAPI 3.1 document, generated from the same zod schemas the routes parse with. */
export function openApiDocument() {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of operations) {
    const path = toOpenApiPath(operation.path);
    const pathParams = [...operation.path.matchAll(/:(\w+)/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }));
    const security = { session: [{ bearer: [] }, { cookie: [] }], apiKey: [{ apiKey: [] }], none: [] }[operation.security];
    paths[path] ??= {};
    paths[path][operation.method] = {
      tags: [operation.tag],
      summary: operation.summary,
      operationId: `${operation.method}${operation.path.replace(/[/:-](\w)/g, (_m, c: string) => c.toUpperCase())}`,
      security,
      parameters: [...pathParams, ...(operation.query ? queryParameters(operation.query) : [])],
      ...(operation.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(operation.body) } } } } : {}),
      responses: {
        [operation.success]: {
          description: 'OK',
          ...(operation.response ? { content: { 'application/json': { schema: jsonSchema(operation.response, 'output') } } } : {}),
        },
        ...(operation.body || operation.query ? { 400: { $ref: '#/components/responses/Error' } } : {}),
        ...(operation.security === 'none' ? {} : { 401: { $ref: '#/components/responses/Error' } }),
        ...(operation.security === 'session' ? { 403: { $ref: '#/components/responses/Error' } } : {}),
        ...(pathParams.length ? { 404: { $ref: '#/components/responses/Error' } } : {}),
        503: { $ref: '#/components/responses/Unavailable' },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Leadline API',
      version: '0.1.0',
      description: 'Lead orchestration: every lead runs as a Temporal workflow. Errors are `{ error: { code, message, details? } }`.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'leadline_session' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
      },
      schemas: { Error: errorSchema },
      responses: {
        Error: { description: 'An error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        Unavailable: {
          description: 'Postgres or Temporal is briefly unavailable (`service_unavailable`, `details.dependency` says which). Try again after `Retry-After` seconds.',
          headers: { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } } },
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    },
  };
}
