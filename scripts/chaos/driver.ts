import twilio from 'twilio';
import type { ChaosSystem } from './system.js';
import { PASSWORD, type ChaosTeam, type LeadPlan } from './scenario.js';

/** What the driver asked of the API for one lead, and what it was told. */
export interface LeadRecord {
  plan: LeadPlan;
  leadId: string | null;
  /** The create answered 409 duplicate_lead after an attempt that had failed: that attempt had committed. */
  createdOnRetry: boolean;
  /** The API was asked to log a contact (whether or not it answered 200). */
  contactTried: boolean;
  /** It answered 200. */
  contacted: boolean;
  /** `ok`: the API closed it; `refused`: 409, it was already closed; `gave_up`: the API never answered. */
  close: { action: 'convert' | 'lose'; result: 'ok' | 'refused' | 'gave_up'; attempts: number } | null;
  /** A STOP texted mid-run: from its first send to the webhook's 200 (after which nothing may be sent). */
  stop: { sentAt: number; ackAt: number | null } | null;
}

export interface ApiStats {
  calls: number;
  /**
   * Attempts answered 503 `service_unavailable` (a dependency was down), by the dependency the API
   * named; each was tried again after its Retry-After.
   */
  unavailable: Record<string, number>;
  /** Attempts that got no answer or another 5xx (a fault of the API itself) and were tried again, by what they got. */
  retried: Record<string, number>;
  gaveUp: { what: string; last: string }[];
  /** A few distinct error answers seen during faults, for the report. */
  errors: Set<string>;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  /** The answer's Retry-After, in milliseconds, when it gave one in seconds. */
  retryAfterMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** At most `limit` calls in flight, so a burst of due actions does not swamp a 2-core machine. */
function limiter(limit: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/**
 * How long one attempt may take, and how long one call is retried through faults before the driver
 * gives up on it (and the run fails). A convert answers once the workflow has run the update, so a
 * backlog of workflow tasks on a busy machine (minutes, after a few faults) holds it up that long.
 */
export const defaultPatience = { attemptMs: 180_000, giveUpMs: 600_000 };

export function createDriver(system: ChaosSystem, teams: ChaosTeam[], patience = defaultPatience) {
  const stats: ApiStats = { calls: 0, unavailable: {}, retried: {}, gaveUp: [], errors: new Set() };
  // New leads apart from the rest: a convert waits for the workflow's answer, which a backlog makes
  // slow, and must not hold up the leads still coming in.
  const creates = limiter(8);
  const actions = limiter(32);
  const tokens = new Map<string, string>();

  async function once(method: string, path: string, body: unknown, headers: Record<string, string>, form = false): Promise<Answer> {
    stats.calls++;
    try {
      const res = await fetch(`${system.apiUrl}${path}`, {
        method,
        headers: { ...(form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : { 'Content-Type': 'application/json' }), ...headers },
        body: form ? new URLSearchParams(body as Record<string, string>).toString() : JSON.stringify(body),
        signal: AbortSignal.timeout(patience.attemptMs),
      });
      const text = await res.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        parsed = { text };
      }
      const retryAfter = res.headers.get('retry-after');
      return { status: res.status, body: parsed, ...(retryAfter && /^\d+$/.test(retryAfter) ? { retryAfterMs: Number(retryAfter) * 1000 } : {}) };
    } catch (error) {
      return { status: 0, body: { error: { message: String((error as Error).cause ?? error) } } };
    }
  }

  /**
   * Calls until there is an answer about the request itself (2xx, 4xx); no answer and 5xx (a fault is
   * on) are tried again with the same request, a 503 after the Retry-After it names, as a client is
   * told to. `attempts` counts the tries, so a 409 after a failed attempt can be read as "the failed
   * attempt had gone through".
   */
  async function call(
    what: string,
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
    { form = false, lane = actions }: { form?: boolean; lane?: typeof actions } = {},
  ): Promise<Answer & { attempts: number }> {
    const deadline = Date.now() + patience.giveUpMs;
    let attempts = 0;
    let delay = 200;
    for (;;) {
      attempts++;
      const answer = await lane(() => once(method, path, body, headers, form));
      if (answer.status >= 200 && answer.status < 500) return { ...answer, attempts };
      const label = answer.status === 0 ? 'no answer' : String(answer.status);
      const error = answer.body.error as { message?: string; details?: { dependency?: string } } | undefined;
      if (answer.status === 503) {
        const dependency = error?.details?.dependency ?? 'unnamed';
        stats.unavailable[dependency] = (stats.unavailable[dependency] ?? 0) + 1;
      } else {
        stats.retried[label] = (stats.retried[label] ?? 0) + 1;
      }
      const message = error?.message ?? JSON.stringify(answer.body).slice(0, 200);
      if (stats.errors.size < 12) stats.errors.add(`${label}: ${message.slice(0, 160)}`);
      if (Date.now() > deadline) {
        stats.gaveUp.push({ what, last: `${label}: ${message}` });
        return { ...answer, attempts };
      }
      await sleep(answer.status === 503 && answer.retryAfterMs !== undefined ? answer.retryAfterMs : delay);
      delay = Math.min(delay * 2, 2_000);
    }
  }

  const auth = (team: ChaosTeam) => ({ Authorization: `Bearer ${tokens.get(team.id)}` });

  let smsCount = 0;
  /** A text to our number from `phone`, signed as Twilio signs its webhooks; a retry is the same delivery. */
  async function textFrom(phone: string, body: string): Promise<boolean> {
    const params = { MessageSid: `SM${String(++smsCount).padStart(32, '0')}`, AccountSid: system.twilio.accountSid, From: phone, To: system.providers.twilio!.from, Body: body };
    const path = '/webhooks/twilio/sms';
    const signature = twilio.getExpectedTwilioSignature(system.twilio.authToken, `${system.providers.publicUrl}${path}`, params);
    const answer = await call(`text ${body} from ${phone}`, 'POST', path, params, { 'X-Twilio-Signature': signature }, { form: true });
    return answer.status === 200;
  }

  return {
    stats,

    /** Each manager signs in; the driver acts as the team's manager (who may contact, convert and lose). */
    async signIn() {
      for (const team of teams) {
        const answer = await call('sign in', 'POST', '/api/auth/login', { email: team.manager.email, password: PASSWORD }, {});
        if (answer.status !== 200) throw new Error(`${team.manager.email} could not sign in: ${JSON.stringify(answer.body)}`);
        tokens.set(team.id, String(answer.body.token));
      }
    },

    textFrom,

    async createLead(record: LeadRecord): Promise<void> {
      const { plan } = record;
      const team = teams[plan.team]!;
      const body = { name: plan.name, email: plan.email, ...(plan.phone ? { phone: plan.phone } : {}), source: 'chaos', teamId: team.id };
      const answer = await call(`create ${plan.name}`, 'POST', '/api/leads', body, auth(team), { lane: creates });
      if (answer.status === 201) {
        record.leadId = String((answer.body.lead as { id: string }).id);
      } else if (answer.status === 409 && answer.attempts > 1) {
        record.leadId = String(((answer.body.error as { details?: { leadId?: string } }).details ?? {}).leadId);
        record.createdOnRetry = true;
      } else {
        throw new Error(`creating ${plan.name} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      }
    },

    async contact(record: LeadRecord): Promise<void> {
      const team = teams[record.plan.team]!;
      record.contactTried = true;
      const answer = await call(`contact ${record.plan.name}`, 'POST', `/api/leads/${record.leadId}/contact`, { channel: 'phone', outcome: 'Left a message' }, auth(team));
      // 409: it closed first (a lose or convert planned earlier than the contact).
      record.contacted = answer.status === 200;
      if (answer.status !== 200 && answer.status !== 409) throw new Error(`contact ${record.plan.name} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    },

    async close(record: LeadRecord, action: 'convert' | 'lose'): Promise<void> {
      const team = teams[record.plan.team]!;
      const body = action === 'convert' ? { value: 1000 + record.plan.index, notes: 'chaos' } : { reason: 'Chose a competitor' };
      const answer = await call(`${action} ${record.plan.name}`, 'POST', `/api/leads/${record.leadId}/${action}`, body, auth(team));
      const result = answer.status === 200 ? 'ok' : answer.status === 409 ? 'refused' : answer.status >= 500 || answer.status === 0 ? 'gave_up' : null;
      if (!result) throw new Error(`${action} ${record.plan.name} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      record.close = { action, result, attempts: answer.attempts };
    },

    async stop(record: LeadRecord): Promise<void> {
      record.stop = { sentAt: Date.now(), ackAt: null };
      if (await textFrom(record.plan.phone!, 'STOP')) record.stop.ackAt = Date.now();
    },
  };
}

export type Driver = ReturnType<typeof createDriver>;
