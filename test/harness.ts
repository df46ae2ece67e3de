import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { Express } from 'express';
import request from 'supertest';
import { createApp } from '../api/app.js';
import type { AppDeps } from '../api/deps.js';
import { databaseUrl, ensureDatabase } from '../db/databases.js';
import { LeadSchema, PolicySchema, PolicyVersionSchema, TeamSchema, UserSchema, type BusinessHours, type Lead, type User } from '../db/entities.js';
import { leadWorkflowId } from '../domain/lead.js';
import { weekdays } from '../domain/businessHours.js';
import { initORM, type MikroORM } from '../db/orm.js';
import type { ProviderSettings } from '../messaging/settings.js';
import { DEMO_PASSWORD, DemoSeeder } from '../db/seeders/DemoSeeder.js';
import { defaultPolicyRules, type PolicyRules } from '../domain/policy.js';
import { createLeadWorker } from '../worker.js';
import { testServices } from './services.js';
import { requestIdClientInterceptor } from '../requestContext.js';
import type { TemporalConnectionOptions } from '../temporalConnection.js';

export interface Harness {
  orm: MikroORM;
  app: Express;
  config: AppDeps['config'];
  temporal: Client;
  /** This file's own database. */
  databaseUrl: string;
  /** Signs in a demo user and returns the Bearer header value. */
  login(email: string): Promise<string>;
  /** Saves a new version of a team's policy with these rules merged over the defaults. */
  setPolicy(teamName: string, rules: Partial<PolicyRules>): Promise<void>;
  userId(email: string): Promise<string>;
  /** A team of its own for one scenario: a manager, staff with these settings, open around the clock, and a policy. */
  createTeam(name: string, staff: Partial<Pick<User, 'capacity' | 'weight' | 'active' | 'notifyBy'>>[], rules: Partial<PolicyRules>): Promise<TestTeam>;
  /** A lead row and its workflow, started the way a bulk import would (no HTTP in between). */
  startLead(
    teamId: string,
    fields?: Partial<Pick<Lead, 'name' | 'email' | 'phone' | 'timezone'>>,
    options?: { historyLimit?: number; taskQueue?: string },
  ): Promise<string>;
  stop(): Promise<void>;
}

export interface TestTeam {
  id: string;
  managerId: string;
  managerEmail: string;
  staff: { id: string; email: string }[];
}

let runtimeInstalled = false;

/** A policy where nothing happens on its own (wall time, no steps, no quiet hours): a scenario adds what it is about. */
export const stillPolicy: Partial<PolicyRules> = {
  businessHoursOnly: false,
  firstContactSla: '1h',
  escalation: [],
  cadence: [],
  onCadenceEnd: 'keep_open',
  quietHours: { start: '00:00', end: '00:00' },
};

/** Tests run at any hour: the demo teams are open around the clock unless a test says otherwise. */
export const allHours = { weekly: Object.fromEntries(weekdays.map((day) => [day, [['00:00', '24:00']]])) as BusinessHours['weekly'], holidays: [] };

async function openAllHours(orm: MikroORM) {
  const em = orm.em.fork();
  for (const team of await em.find(TeamSchema, {})) team.businessHours = allHours;
  await em.flush();
}

/**
 * A fresh database copied from the migrated template and seeded with the demo data, a worker on
 * its own task queue and the API app around both: one per test file, all on the shared servers.
 * `providers` points the worker and the app at Twilio and SendGrid (fakes, in tests); without it
 * both run in sandbox mode. `buildId` is what the worker tells Temporal it runs. `temporal` is where the
 * worker and the app's client connect (another server, TLS); the shared dev server by default.
 */
export async function startHarness(options: { providers?: ProviderSettings; buildId?: string; temporal?: TemporalConnectionOptions } = {}): Promise<Harness> {
  const { providers, buildId } = options;
  const services = testServices();
  const temporalConnection = options.temporal ?? { address: services.temporalAddress };
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const name = `test_${randomUUID().replace(/-/g, '')}`;
  await ensureDatabase(services.postgresUrl, name, services.templateDatabase);
  const url = databaseUrl(services.postgresUrl, name);
  const orm = await initORM(url);
  await orm.seeder.seed(DemoSeeder);
  await openAllHours(orm);

  const taskQueue = `leads-${name}`;
  const workerConnection = await NativeConnection.connect(temporalConnection);
  const worker = await createLeadWorker({
    orm,
    connection: workerConnection,
    namespace: 'default',
    taskQueue,
    workflowBundlePath: services.workflowBundlePath,
    providers,
    buildId,
  });
  const running = worker.run();

  const connection = await Connection.connect(temporalConnection);
  const temporal = new Client({ connection, namespace: 'default', interceptors: { workflow: [requestIdClientInterceptor] } });
  const config: AppDeps['config'] = {
    NODE_ENV: 'test',
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: taskQueue,
    TEMPORAL_UI_URL: services.temporalUiUrl,
    JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256',
  };
  const app = createApp({ orm, temporal, config, providers });

  return {
    orm,
    app,
    config,
    temporal,
    databaseUrl: url,
    async login(email) {
      const res = await request(app).post('/api/auth/login').send({ email, password: DEMO_PASSWORD }).expect(200);
      return `Bearer ${(res.body as { token: string }).token}`;
    },
    async setPolicy(teamName, rules) {
      const em = orm.em.fork();
      const team = await em.findOneOrFail(TeamSchema, { name: teamName }, { populate: ['policy'] });
      const policy = await em.findOneOrFail(PolicySchema, team.policy?.id ?? '');
      policy.currentVersion += 1;
      em.create(PolicyVersionSchema, { policy, version: policy.currentVersion, rules: { ...defaultPolicyRules, ...rules } });
      await em.flush();
    },
    async userId(email) {
      return (await orm.em.fork().findOneOrFail(UserSchema, { email })).id;
    },
    async createTeam(name, staff, rules) {
      const em = orm.em.fork();
      const slug = name.toLowerCase();
      // Everyone signs in with the demo password: copy a demo user's hash rather than hashing again.
      const { passwordHash } = await em.findOneOrFail(UserSchema, { email: 'admin@leadline.test' }, { fields: ['passwordHash'] });
      const team = em.create(TeamSchema, { name, timezone: 'America/New_York', businessHours: allHours });
      // No notification channels unless a test asks for them, so notices to staff do not crowd its messages.
      const manager = em.create(UserSchema, { email: `${slug}.manager@leadline.test`, name: `${name} Manager`, role: 'manager', team, passwordHash, notifyBy: [] });
      const people = staff.map((settings, i) =>
        em.create(UserSchema, { email: `${slug}.rep${i + 1}@leadline.test`, name: `${name} Rep ${i + 1}`, role: 'staff', team, passwordHash, notifyBy: [], ...settings }),
      );
      const policy = em.create(PolicySchema, { team, name: `${name} policy`, currentVersion: 1 });
      em.create(PolicyVersionSchema, { policy, version: 1, rules: { ...defaultPolicyRules, ...rules } });
      team.manager = manager;
      team.policy = policy;
      await em.flush();
      return { id: team.id, managerId: manager.id, managerEmail: manager.email, staff: people.map((p) => ({ id: p.id, email: p.email })) };
    },
    async startLead(teamId, fields = {}, options = {}) {
      const em = orm.em.fork();
      const lead = em.create(LeadSchema, { name: 'Imported Lead', team: teamId, source: 'import', ...fields });
      await em.flush();
      const { taskQueue: queue = taskQueue, historyLimit } = options;
      await temporal.workflow.start('leadWorkflow', {
        workflowId: leadWorkflowId(lead.id),
        taskQueue: queue,
        args: [{ leadId: lead.id, ...(historyLimit ? { historyLimit } : {}) }],
      });
      return lead.id;
    },
    async stop() {
      worker.shutdown();
      await running;
      await workerConnection.close();
      await connection.close();
      await orm.close();
    },
  };
}

/** Polls `probe` until it returns something truthy or the time runs out. */
export async function eventually<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
