import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import exitHook from 'async-exit-hook';
import twilio from 'twilio';
import { databaseUrl, ensureDatabase } from '../../db/databases.js';
import { initORM, type MikroORM } from '../../db/orm.js';
import type { PolicyRules } from '../../domain/policy.js';
import { startFakeSendgrid } from '../../test/fakes/sendgrid.js';
import { startFakeTwilio, type FakeTwilio } from '../../test/fakes/twilio.js';
import { freePort, scratchDir } from '../../test/services.js';
import { workflowInterceptorModules, workflowPreloadModules, workflowsPath } from '../../worker.js';
import type { LeadExplanation } from '../../workflows/definitions.js';
import { patches } from '../../workflows/patches.js';
import { runChecks, type CheckResult, type RunFigures } from '../chaos/checks.js';
import { createRng } from '../chaos/rng.js';
import { chaosPolicy, phoneSource } from '../chaos/scenario.js';
import { inspectWorkflow, waitUntilSettled, type WorkflowView } from '../chaos/settle.js';
import { startEmbeddedPostgres } from '../services/postgres.js';
import { startTemporalDevServer } from '../services/temporal.js';
import { apiClient, type ApiClient } from './api.js';
import { checkOut, describeWorkingTree } from './checkout.js';
import { fetchHistory, fetchLeadHistories, readHistories, waitingNotices, type HistoryFindings } from './histories.js';
import { cleanEnvironment, migrateWith, startRelease, type Release } from './release.js';
import { ADMIN, createTeams, hoursFrom, PASSWORD, planLeads, type Action, type RehearsalLead, type RehearsalTeams } from './scene.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const TASK_QUEUE = 'rehearsal-leads';
const JWT_SECRET = 'rehearsal-secret-that-is-long-enough-for-hs256';
const SMS_FROM = '+15017122661';
const SENDGRID_KEY = 'SG.rehearsal-key-for-the-fake';

export interface RehearsalOptions {
  ref: string;
  seed: number;
  leads: number;
  /** The policy's unit: escalations and cadence steps come this many seconds apart. */
  stepSeconds: number;
  /** worker.ts processes per release. */
  workers: number;
  say?: (line: string) => void;
}

/** The rehearsal could not be set up (a checkout, a service, a phase that was never reached): no verdict. */
export class RehearsalNotMade extends Error {}

/** Where a lead is, as its workflow's `explain` tells it. */
export type Phase = 'starting' | 'queued' | 'waiting_first_contact' | 'escalated_partway' | 'escalations_done' | 'paused' | 'cadence_starting' | 'mid_cadence' | 'closed';

/** The phases a lead must be seen in before the switch; a waiting notice is seen in the history (see `waitingNotices`). */
export const requiredPhases: Phase[] = ['queued', 'waiting_first_contact', 'escalated_partway', 'paused', 'mid_cadence'];

export function phaseOf(view: WorkflowView, rules: PolicyRules): Phase {
  const explain: LeadExplanation | null = view.explain;
  if (view.status !== 'RUNNING' || !explain) return 'closed';
  if (explain.pause) return 'paused';
  if (explain.phase === 'queued') return explain.lastAssignment && !explain.lastAssignment.assigneeId ? 'queued' : 'starting';
  if (explain.phase === 'first_contact') {
    if (explain.plan.escalationsDone === 0) return 'waiting_first_contact';
    return explain.plan.escalationsDone < rules.escalation.length && explain.escalationLevel > 0 ? 'escalated_partway' : 'escalations_done';
  }
  if (explain.phase === 'cadence') return explain.plan.cadenceDone > 0 ? 'mid_cadence' : 'cadence_starting';
  return 'closed';
}

export interface WaitingNotice {
  leadId: string;
  key: string;
  deferredUntil: string;
  /** When its `staff_notified` row was written, if it was. */
  sentAt: string | null;
}

export interface RehearsalReport {
  ref: string;
  commit: string;
  to: string;
  seed: number;
  options: Pick<RehearsalOptions, 'leads' | 'stepSeconds' | 'workers'>;
  dependencies: string;
  /** Whether the ref's escalation steps already ran by "the deadline decides", and what the checks make of it. */
  deadlineRule: string;
  migrations: { ref: string; workingTree: string };
  /** Each lead's phase when the old workers were stopped, from `explain`. */
  phasesAtSwitch: Record<string, string[]>;
  noticesWaitingAtSwitch: WaitingNotice[];
  switch: { stopMs: number; migrateMs: number; startMs: number; gapMs: number; newUpAt: string };
  /** What the new release was asked to do, and how the API answered. */
  actionsAfter: Record<string, number>;
  closes: { ok: number; refused: number };
  statuses: Record<string, number>;
  workflows: Record<string, number>;
  settleMs: number;
  unsettled: string[];
  figures: RunFigures;
  histories: HistoryFindings;
  api: { calls: number; retried: Record<string, number> };
  checks: CheckResult[];
  durationMs: number;
  verdict: 'PASS' | 'FAIL';
  keptIn: string | null;
}

const sleepUntil = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new RehearsalNotMade(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * `npm run rehearse -- <ref>`: what a deploy of the working tree does to leads that are running on
 * `ref`, on this machine. The ref's own migrations, workers and API run leads into every phase; then its
 * workers are stopped, the working tree's migrations run, and its workers and API carry the same leads
 * to the end of their lives. The chaos run's checks decide whether anything was lost, doubled or left
 * stuck, and the histories whether any workflow task failed on the new code.
 */
export async function rehearse(options: RehearsalOptions): Promise<RehearsalReport> {
  const say = options.say ?? ((line: string) => console.log(`[rehearse] ${line}`));
  const started = Date.now();
  const u = options.stepSeconds;
  const scratch = scratchDir('leadline-rehearsal-');
  const stops: [string, () => Promise<unknown>][] = [];
  let stopping: Promise<void> | null = null;
  // In reverse order of starting, once; a step that hangs is reported and left behind.
  const stopAll = () =>
    (stopping ??= (async () => {
      for (const [name, stop] of stops.reverse()) {
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([
          stop().then(() => 'stopped', (error: unknown) => `failed: ${String(error)}`),
          new Promise<string>((resolve) => (timer = setTimeout(() => resolve('did not stop within 60 s'), 60_000))),
        ]);
        clearTimeout(timer);
        if (outcome !== 'stopped') say(`stopping ${name}: ${outcome}`);
      }
    })());
  exitHook((done) => {
    if (!stopping) say('told to stop: stopping the rehearsal; no verdict');
    void stopAll().finally(done);
  });

  let failed = true;
  try {
    const checkout = await checkOut(repoRoot, options.ref, join(scratch.path, 'code'), say);
    stops.push([`the worktree of ${options.ref}`, () => checkout.remove()]);
    const short = checkout.commit.slice(0, 7);
    const to = await describeWorkingTree(repoRoot);
    say(`${options.ref} (${short}) checked out in ${checkout.dir}; ${checkout.dependencies}`);

    const [pgPort, temporalPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const log = (file: string) => (line: string) => writeFileSync(join(scratch.path, file), `${line}\n`, { flag: 'a' });
    const [postgres, temporalServer] = await Promise.all([
      startEmbeddedPostgres({ dataDir: join(scratch.path, 'pg'), port: pgPort, persistent: true, log: log('postgres.log') }),
      startTemporalDevServer({ port: temporalPort, dbFile: join(scratch.path, 'temporal.db'), sqlitePragmas: { journal_mode: 'wal' }, log: log('temporal.log') }),
    ]);
    stops.push(['Postgres', () => postgres.stop()], ['Temporal', () => temporalServer.stop()]);
    await ensureDatabase(postgres.url('postgres'), 'leadline');
    const url = databaseUrl(postgres.url('postgres'), 'leadline');
    const [twilio, sendgrid] = await Promise.all([startFakeTwilio(), startFakeSendgrid(SENDGRID_KEY)]);
    stops.push(['the Twilio fake', () => twilio.close()], ['the SendGrid fake', () => sendgrid.close()]);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    say(`Postgres on ${pgPort}, Temporal on ${temporalPort}, the API on ${apiPort}; logs and data in ${scratch.path}`);

    // What a deployment gives the API and the workers of either release.
    const env: NodeJS.ProcessEnv = {
      ...cleanEnvironment(process.env),
      NODE_ENV: 'production',
      DATABASE_URL: url,
      TEMPORAL_ADDRESS: temporalServer.address,
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      JWT_SECRET,
      PUBLIC_URL: apiUrl,
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM: SMS_FROM,
      TWILIO_API_BASE_URL: twilio.url,
      SENDGRID_API_KEY: SENDGRID_KEY,
      SENDGRID_FROM: 'leads@rehearsal.example.com',
      SENDGRID_API_BASE_URL: sendgrid.url,
    };

    // The demo data gives the admin who sets up the rehearsal's teams.
    const refMigrations = await migrateWith(checkout.dir, env, true);
    say(`${options.ref}'s migrations: ${refMigrations}`);
    const orm = await initORM(url);
    stops.push(['the ORM', () => orm.close()]);
    const connection = await Connection.connect({ address: temporalServer.address });
    stops.push(['the Temporal client', () => connection.close()]);
    const temporal = new Client({ connection, namespace: 'default' });

    const releases = new Map<string, string>();
    const oldLabel = options.ref;
    const newLabel = 'working tree';
    const running: Release[] = [];
    stops.push(['the releases', () => Promise.all(running.map((release) => release.stop()))]);
    const start = async (label: string, dir: string, extra: NodeJS.ProcessEnv) => {
      const release = await startRelease({ label, dir, env: { ...env, ...extra }, workers: options.workers, apiPort, logDir: scratch.path });
      running.push(release);
      for (const pid of release.workerPids) releases.set(`${pid}@${hostname()}`, label);
      return release;
    };
    say(`starting ${options.workers} workers (each bundles ${options.ref}'s workflows) and the API of ${options.ref}`);
    const old = await start(oldLabel, checkout.dir, { LEADLINE_BUILD_ID: `rehearsal-${short}` });

    // The working tree's workflows, bundled now as its worker would, so its workers start quickly at the switch.
    const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string) => say(m) };
    const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules, preloadModules: workflowPreloadModules, logger: quiet });
    const bundlePath = join(scratch.path, 'working-tree-workflows.js');
    writeFileSync(bundlePath, code);

    const api = apiClient(apiUrl, PASSWORD);
    const rng = createRng(options.seed);
    const phones = phoneSource(rng.fork('phones'));
    const rules = chaosPolicy(u);
    const teams = await createTeams(api, rules, phones);
    const leads = planLeads(rng.fork('leads'), options.leads, teams, u, phones);
    const actionErrors: string[] = [];

    // Before the switch, on the old release.
    const scene = await setTheScene({ api, temporal, orm, twilio, publicUrl: apiUrl, teams, leads, rules, u, say, actionErrors });
    say(`before the switch: ${Object.entries(scene.phases).map(([phase, ids]) => `${phase} ${ids.length}`).join(', ')}; ${scene.notices.length} notices waiting for working hours`);

    // The switch: what a deploy does.
    const switchStarted = Date.now();
    await old.stop();
    running.splice(running.indexOf(old), 1);
    const stoppedAt = Date.now();
    const workingTreeMigrations = await migrateWith(repoRoot, env, false);
    const migratedAt = Date.now();
    say(`${options.ref} stopped in ${((stoppedAt - switchStarted) / 1000).toFixed(1)} s; the working tree's migrations: ${workingTreeMigrations}`);
    await start(newLabel, repoRoot, { WORKFLOW_BUNDLE: bundlePath, LEADLINE_BUILD_ID: 'rehearsal-working-tree' });
    const upAt = Date.now();
    say(`the working tree's workers and API up ${((upAt - switchStarted) / 1000).toFixed(1)} s after the switch began`);

    // After the switch, on the new release.
    const actionsAfter: Record<string, number> = {};
    await Promise.all(
      leads.flatMap((lead) =>
        lead.after.map(async (action) => {
          await sleepUntil(upAt + action.at);
          actionsAfter[action.do] = (actionsAfter[action.do] ?? 0) + 1;
          await perform(api, lead, action).catch((error: unknown) => actionErrors.push(`${lead.record.plan.name} ${action.do}: ${(error as Error).message}`));
        }),
      ),
    );
    say(`after the switch: ${Object.entries(actionsAfter).map(([what, n]) => `${what} ${n}`).join(', ')}`);

    // The waiting notices fall due at the reps' shift start; each must then be sent, once, by the new code.
    const notices = await noticesSent(orm, scene.notices, Date.parse(scene.opensAt) + 120_000);
    const leadIds = leads.map((lead) => lead.record.leadId!);
    const settleStart = Date.now();
    const settled = await waitUntilSettled(temporal, leadIds, rules, { stallMs: 120_000, maxMs: 1_200_000 }, say);
    const settleMs = Date.now() - settleStart;
    say(`settled after ${(settleMs / 1000).toFixed(0)} s${settled.unsettled.length ? `; ${settled.unsettled.length} never did` : ''}; checking`);

    // A ref from before the deadline rule let a contact win a race with a deadline; contacts it handled are its to judge.
    const deadlineRuleFrom = ranByDeadline(checkout.dir) ? undefined : stoppedAt;
    const [contactedBefore] = await orm.em.fork().getConnection().execute<{ n: string }[]>('select count(*) as n from lead where first_contact_at < ?', [new Date(stoppedAt)]);
    const deadlineRule =
      deadlineRuleFrom === undefined
        ? `${options.ref} has it too: every first contact is held to it`
        : `${options.ref} predates it (contact wins a race with a deadline): the ${contactedBefore!.n} first contacts it took before the switch are held to it only from the switch on`;
    const result = await runChecks({
      system: { twilio, sendgrid, temporal },
      orm,
      records: leads.map((lead) => lead.record),
      teams: [teams.open, teams.full, teams.later],
      rules,
      views: settled.views,
      deadlineRuleFrom,
    });
    const histories = readHistories(await fetchLeadHistories(temporal), releases, oldLabel, newLabel, stoppedAt);

    const tasks: CheckResult = {
      name: 'workflow_tasks',
      what: 'no workflow task failed (no nondeterminism, no error thrown by the workflow code) before or after the switch',
      checked: histories.runs,
      violations: histories.failedTasks.map(
        (f) => `${f.workflowId} run ${f.runId}: event ${f.eventId} WorkflowTaskFailed (${f.cause}) at ${f.at} on the ${f.worker} workers: ${f.message.slice(0, 300)}`,
      ),
    };
    const scheduled: CheckResult = {
      name: 'nothing_scheduled',
      what: 'no open lead still has a timer running (something due that explain would not show, such as a held-back notice)',
      checked: histories.runs,
      violations: histories.pendingTimers.map((t) => `${t.workflowId} run ${t.runId}: timer ${t.timerId} started ${t.startedAt} never fired`),
    };
    const held: CheckResult = {
      name: 'held_notices',
      what: 'every notice held for working hours at the switch went out once its hours began, sent by the new release',
      checked: notices.length,
      violations: notices.flatMap((n) =>
        !n.sentAt
          ? [`${n.leadId}: ${n.key} (due ${n.deferredUntil}) was never sent`]
          : Date.parse(n.sentAt) < Math.max(stoppedAt, Date.parse(n.deferredUntil))
            ? [`${n.leadId}: ${n.key} was sent at ${n.sentAt}, before ${new Date(Math.max(stoppedAt, Date.parse(n.deferredUntil))).toISOString()}`]
            : [],
      ),
    };
    const actions: CheckResult = {
      name: 'api',
      what: 'every action on either release got the answer it should (setup, contacts, closes, pause, resume, capacity)',
      checked: leads.length,
      violations: actionErrors,
    };
    const checks = [...result.checks, tasks, scheduled, held, actions];
    const verdict = checks.every((check) => check.violations.length === 0) ? 'PASS' : 'FAIL';
    failed = verdict === 'FAIL';
    return {
      ref: options.ref,
      commit: checkout.commit,
      to,
      seed: options.seed,
      options: { leads: options.leads, stepSeconds: u, workers: options.workers },
      dependencies: checkout.dependencies,
      deadlineRule,
      migrations: { ref: refMigrations, workingTree: workingTreeMigrations },
      phasesAtSwitch: scene.phases,
      noticesWaitingAtSwitch: notices,
      switch: { stopMs: stoppedAt - switchStarted, migrateMs: migratedAt - stoppedAt, startMs: upAt - migratedAt, gapMs: upAt - switchStarted, newUpAt: new Date(upAt).toISOString() },
      actionsAfter,
      closes: { ok: leads.filter((l) => l.record.close?.result === 'ok').length, refused: leads.filter((l) => l.record.close?.result === 'refused').length },
      statuses: result.statuses,
      workflows: result.workflows,
      settleMs,
      unsettled: settled.unsettled,
      figures: result.figures,
      histories,
      api: api.stats(),
      checks,
      durationMs: Date.now() - started,
      verdict,
      keptIn: failed ? scratch.path : null,
    };
  } finally {
    await stopAll();
    if (!failed) scratch.remove();
  }
}

/** Whether the checkout's lead workflow has the deadline rule (its patch id appears in its workflow code). */
function ranByDeadline(dir: string): boolean {
  return ['workflows/lead.ts', 'workflows/patches.ts'].some((file) => {
    const path = join(dir, file);
    return existsSync(path) && readFileSync(path, 'utf8').includes(patches.escalationDeadlineDecides);
  });
}

interface SceneDeps {
  api: ApiClient;
  temporal: Client;
  orm: MikroORM;
  twilio: FakeTwilio;
  publicUrl: string;
  teams: RehearsalTeams;
  leads: RehearsalLead[];
  rules: PolicyRules;
  u: number;
  say: (line: string) => void;
  actionErrors: string[];
}

/** One action of the driver, as the team's manager (the admin changes capacity); what the API said goes on the record. */
async function perform(api: ApiClient, lead: RehearsalLead, action: Action): Promise<void> {
  const { record, team } = lead;
  const path = `/api/leads/${record.leadId}`;
  const as = team.manager.email;
  switch (action.do) {
    case 'contact': {
      record.contactTried = true;
      // 409: it closed first.
      const answer = await api.as(as, 'POST', `${path}/contact`, { channel: 'phone', outcome: 'Left a message' }, [200, 409]);
      record.contacted = answer.status === 200;
      return;
    }
    case 'convert':
    case 'lose': {
      const body = action.do === 'convert' ? { value: 1000 + record.plan.index, notes: 'rehearsal' } : { reason: 'Chose a competitor' };
      const answer = await api.as(as, 'POST', `${path}/${action.do}`, body, [200, 409]);
      record.close = { action: action.do, result: answer.status === 200 ? 'ok' : 'refused', attempts: answer.attempts };
      return;
    }
    case 'pause':
      await api.as(as, 'POST', `${path}/pause`, { reason: 'Waiting on the customer' });
      return;
    case 'resume':
      await api.as(as, 'POST', `${path}/resume`, {});
      return;
    case 'free_capacity':
      await api.as(ADMIN, 'PATCH', `/api/users/${team.reps[0]!.id}`, { capacity: 2 });
      return;
  }
}

/** A text to the Leadline number, signed as Twilio signs its webhooks. */
async function textFrom(twilioFake: FakeTwilio, publicUrl: string, phone: string, body: string): Promise<void> {
  const path = '/webhooks/twilio/sms';
  const params = { MessageSid: `SM${randomBytes(16).toString('hex')}`, AccountSid: twilioFake.accountSid, From: phone, To: SMS_FROM, Body: body };
  const res = await fetch(`${publicUrl}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(twilioFake.authToken, `${publicUrl}${path}`, params) },
    body: new URLSearchParams(params).toString(),
  });
  if (!res.ok) throw new RehearsalNotMade(`texting ${body} from ${phone} answered ${res.status}: ${await res.text()}`);
}

async function createLead(api: ApiClient, lead: RehearsalLead): Promise<string> {
  const { plan } = lead.record;
  const body = { name: plan.name, email: plan.email, phone: plan.phone, source: 'rehearsal', teamId: lead.team.id };
  const answer = await api.as(lead.team.manager.email, 'POST', '/api/leads', body, [201, 409]);
  // 409 after a try that got no answer: that try had created it.
  if (answer.status === 409 && answer.attempts === 1) throw new Error(`creating ${plan.name} answered 409: ${JSON.stringify(answer.body)}`);
  lead.record.createdOnRetry = answer.status === 409;
  lead.record.leadId = answer.status === 201 ? (answer.body.lead as { id: string }).id : String((answer.body.error as { details: { leadId: string } }).details.leadId);
  return lead.record.leadId;
}

/**
 * Runs the leads into every phase on the old release and confirms each from `explain` (and the held
 * notices from the history) at the last moment before the switch. Steps come `u` seconds apart, so the
 * phases that pass quickly are timed: wave A is started 2.5 u before the switch (partway through its
 * escalations or cadence), wave B just before it (waiting for first contact).
 */
async function setTheScene({ api, temporal, orm, twilio, publicUrl, teams, leads, rules, u, say, actionErrors }: SceneDeps) {
  const unit = u * 1000;
  const explain = (lead: RehearsalLead) => inspectWorkflow(temporal, lead.record.leadId!);
  const background: Promise<void>[] = [];
  const runBefore = (lead: RehearsalLead, createdAt: number) =>
    background.push(
      (async () => {
        for (const action of [...lead.before].sort((a, b) => a.at - b.at)) {
          await sleepUntil(createdAt + action.at);
          await perform(api, lead, action).catch((error: unknown) => actionErrors.push(`${lead.record.plan.name} ${action.do}: ${(error as Error).message}`));
        }
      })(),
    );
  const enter = async (lead: RehearsalLead) => {
    await createLead(api, lead);
    runBefore(lead, Date.now());
  };
  const ofRole = (role: RehearsalLead['role']) => leads.filter((lead) => lead.role === role);

  const [holder] = ofRole('holder');
  await enter(holder!);
  await until('the full team’s rep takes the first lead', async () => (await explain(holder!)).explain?.phase === 'first_contact', 60_000);
  const [queued] = ofRole('queued');
  await enter(queued!);
  await until('the next lead waits in the full team’s queue', async () => phaseOf(await explain(queued!), rules) === 'queued', 60_000);
  for (const lead of [...ofRole('paused_first'), ...ofRole('paused_cadence')]) await enter(lead);
  for (const lead of ofRole('opted_out')) {
    await textFrom(twilio, publicUrl, lead.record.plan.phone!, 'STOP');
    await enter(lead);
  }

  // The later team's reps start their shift at a minute boundary well after the switch will have begun.
  const opensAt = new Date(Math.ceil((Date.now() + 90_000) / 60_000) * 60_000);
  for (const rep of teams.later.reps) {
    await api.as(ADMIN, 'PATCH', `/api/users/${rep.id}`, { workingHours: { weekly: hoursFrom(opensAt), holidays: [] } });
  }
  const later = ofRole('deferred');
  for (const lead of later) await enter(lead);
  say(`the later team's reps are off shift until ${opensAt.toISOString()}`);

  const stream = ofRole('stream');
  const streamStart = Date.now();
  const spacing = (4 * unit) / Math.max(1, stream.length);
  for (const [i, lead] of stream.entries()) {
    await sleepUntil(streamStart + i * spacing);
    await enter(lead);
  }
  const waveAAt = Date.now();
  await Promise.all(ofRole('wave_a').map(enter));
  await Promise.all(background);
  await sleepUntil(waveAAt + 2.5 * unit);
  const waveB = ofRole('wave_b');
  await Promise.all(waveB.map(enter));
  await until('the last leads are assigned', async () => (await Promise.all(waveB.map(explain))).every((view) => view.explain?.phase === 'first_contact'), 60_000);

  // The sweep: every lead's phase as close to the switch as it can be taken.
  const phases: Record<string, string[]> = {};
  const views = await Promise.all(leads.map(async (lead) => [lead, await explain(lead)] as const));
  for (const [lead, view] of views) (phases[phaseOf(view, rules)] ??= []).push(lead.record.leadId!);
  const notices: WaitingNotice[] = [];
  for (const lead of later) {
    const waiting = waitingNotices(await fetchHistory(temporal, `lead-${lead.record.leadId}`));
    notices.push(...waiting.map((notice) => ({ leadId: lead.record.leadId!, ...notice, sentAt: null })));
  }
  // Not sent yet: no staff_notified row for any of them.
  const sent = await recipientRows(orm, notices);
  const missing: string[] = requiredPhases.filter((phase) => !phases[phase]?.length);
  if (notices.length === 0 || sent.size > 0) missing.push('holding a notice for working hours');
  if (missing.length) {
    const seen = Object.entries(phases).map(([phase, ids]) => `${phase} ${ids.length}`).join(', ');
    throw new RehearsalNotMade(`no lead was ${missing.join(', ')} at the switch (seen: ${seen}); a slow machine needs a longer --step`);
  }
  return { phases, notices, opensAt: opensAt.toISOString() };
}

/** The `staff_notified` rows of these notices (a notice's receipt is keyed `<step key>:recipient`), with when each was written. */
async function recipientRows(orm: MikroORM, notices: Pick<WaitingNotice, 'key'>[]): Promise<Map<string, string>> {
  if (notices.length === 0) return new Map();
  const rows = await orm.em.fork().getConnection().execute<{ idempotency_key: string; at: Date | string }[]>(
    `select idempotency_key, at from lead_event where idempotency_key in (${notices.map(() => '?').join(', ')})`,
    notices.map((notice) => `${notice.key}:recipient`),
  );
  return new Map(rows.map((row) => [row.idempotency_key, new Date(row.at).toISOString()]));
}

/** Waits (until `deadline`) for each held notice's `staff_notified` row; returns each with when it was written, if it was. */
async function noticesSent(orm: MikroORM, notices: WaitingNotice[], deadline: number): Promise<WaitingNotice[]> {
  const read = async () => {
    const at = await recipientRows(orm, notices);
    return notices.map((notice) => ({ ...notice, sentAt: at.get(`${notice.key}:recipient`) ?? null }));
  };
  for (;;) {
    const now = await read();
    if (now.every((notice) => notice.sentAt) || Date.now() > deadline) return now;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function formatReport(report: RehearsalReport, examples = 10): string {
  const lines: string[] = [];
  const o = report.options;
  lines.push(`Deploy rehearsal: ${report.ref} (${report.commit.slice(0, 7)}) → ${report.to}, seed ${report.seed}`);
  lines.push(`  replay: npm run rehearse -- ${report.ref} --seed ${report.seed} --leads ${o.leads} --step ${o.stepSeconds}`);
  lines.push(`  dependencies: ${report.dependencies}`);
  lines.push(`  ${o.leads} leads, policy step ${o.stepSeconds} s, ${o.workers} worker processes per release; took ${seconds(report.durationMs)}`);
  lines.push(`  migrations: ${report.ref}: ${report.migrations.ref}; working tree: ${report.migrations.workingTree}`);
  lines.push(`  the deadline rule (${patches.escalationDeadlineDecides}): ${report.deadlineRule}`);
  lines.push(`  phases at the switch (from explain):`);
  for (const [phase, ids] of Object.entries(report.phasesAtSwitch)) lines.push(`    ${phase.padEnd(22)} ${String(ids.length).padStart(3)}  e.g. lead-${ids[0]}`);
  lines.push(`  notices held for working hours at the switch (from the history): ${report.noticesWaitingAtSwitch.length}`);
  for (const n of report.noticesWaitingAtSwitch) lines.push(`    lead-${n.leadId} ${n.key.replace(/^lead-[^:]+:/, '')}: due ${n.deferredUntil}, sent ${n.sentAt ?? 'never'}`);
  const s = report.switch;
  lines.push(`  switch: old API and workers stopped in ${seconds(s.stopMs)}, migrations ${seconds(s.migrateMs)}, new workers and API up in ${seconds(s.startMs)}; ${seconds(s.gapMs)} without workers (new release up at ${s.newUpAt})`);
  lines.push(`  after the switch: ${Object.entries(report.actionsAfter).map(([k, n]) => `${k} ${n}`).join(', ')}; closes ${report.closes.ok} done, ${report.closes.refused} refused as already closed`);
  lines.push(`  lead statuses: ${Object.entries(report.statuses).map(([k, n]) => `${k} ${n}`).join(', ')}; workflows: ${Object.entries(report.workflows).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  lines.push(
    report.unsettled.length
      ? `  ${report.unsettled.length} leads never settled (waited ${seconds(report.settleMs)} after the last action and held notice): ${report.unsettled.slice(0, examples).join(', ')}`
      : `  every lead settled ${seconds(report.settleMs)} after the last action and held notice`,
  );
  const h = report.histories;
  lines.push(`  histories: ${h.runs} runs, ${h.events} events; workflow tasks completed: ${Object.entries(h.completedTasks).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  lines.push(`    ${h.carriedRuns} runs begun on ${report.ref} were carried on by the working tree; patches it took in them: ${Object.entries(h.patchesTaken).map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'}`);
  lines.push(`    workflow tasks failed: ${h.failedTasks.length}; timed out (sticky queue of a stopped worker): ${h.timedOutTasks.before} before, ${h.timedOutTasks.after} after the switch`);
  const p = report.figures;
  lines.push(`  Twilio: ${p.twilioSends} sends for ${p.smsSent} SMS sent; SendGrid: ${p.sendgridSends} sends for ${p.emailsSent} emails sent; ${p.otherFailures.length} messages failed`);
  lines.push(`  API: ${report.api.calls} calls; tried again: ${Object.entries(report.api.retried).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`);
  lines.push(`  checks:`);
  for (const check of report.checks) {
    lines.push(`    ${check.violations.length === 0 ? 'ok  ' : 'FAIL'} ${check.name}: ${check.what} (${check.checked} checked${check.violations.length ? `, ${check.violations.length} violations` : ''})`);
    for (const violation of check.violations.slice(0, examples)) lines.push(`           ${violation}`);
  }
  if (report.keptIn) lines.push(`  logs and data kept in ${report.keptIn}`);
  lines.push(`VERDICT: ${report.verdict}`);
  return lines.join('\n');
}
