/**
 * The one HTTP client of the app. The session lives in an httpOnly cookie the API sets at sign-in,
 * so requests only need to send cookies; there is no token to keep.
 */
import { START_LOCATION } from 'vue-router';
import { router } from './router';
import { useConnectionStore } from './stores/connection';
import { useSessionStore } from './stores/session';
import type {
  CompleteTaskInput,
  ContactInput,
  ConvertInput,
  DemoAccounts,
  Lead,
  LeadDetail,
  LeadPage,
  LeadQuery,
  LoseInput,
  NewLead,
  PauseInput,
  Policy,
  PolicyRules,
  PolicySaved,
  PolicyVersion,
  ReassignInput,
  Session,
  Simulation,
  Stats,
  StatsQuery,
  SystemStatus,
  InboxTask,
  TaskPage,
  TaskQuery,
  NewTeam,
  NewUser,
  Team,
  TeamChanges,
  TeamListItem,
  UserChanges,
  UserDetail,
  UserPage,
  UserQuery,
} from './types';

/** One field's problem, as the API reports it for `validation_failed`. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Every failed request, with the server's `{ error: { code, message, details } }` when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Field messages keyed by field path (`''` for the whole body); empty unless the input was refused. */
  fieldErrors(): Record<string, string> {
    if (this.code !== 'validation_failed' || !Array.isArray(this.details)) return {};
    const errors: Record<string, string> = {};
    for (const issue of this.details as FieldIssue[]) {
      // The first message per field is enough to act on.
      errors[issue.path] ??= issue.message;
    }
    return errors;
  }
}

/** The message to show for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return 'Something went wrong';
}

type Query = Record<string, string | number | undefined>;

interface RequestOptions {
  body?: unknown;
  query?: Query;
  signal?: AbortSignal;
}

function apiUrl(path: string, query: Query = {}): URL {
  const url = new URL(`/api${path}`, window.location.origin);
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
  }
  return url;
}

/** What a change that could not be made says while Leadline is briefly away. */
export const UNAVAILABLE_MESSAGE = 'Leadline is briefly unavailable. Try again in a moment.';
const UNREACHABLE_MESSAGE = 'Cannot reach Leadline. Check your connection and try again.';

/**
 * Waits between tries of a read while Leadline is away: the server's Retry-After, else a wait that
 * doubles from the first, never above the cap; plus up to a fifth more, so the tabs that all lost the
 * API at the same moment do not all come back at the same moment.
 */
const RETRY = { firstMs: 1_000, capMs: 15_000, jitter: 0.2 };

/** One try: the response, or null when nothing answered (the network, or the API itself, is away). */
async function send(method: string, url: URL, options: RequestOptions): Promise<Response | null> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    return await fetch(url, {
      method,
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    return null;
  }
}

/** Retry-After in milliseconds, given in seconds or as an HTTP date; null when absent or unreadable. */
function retryAfterMs(response: Response | null): number | null {
  const value = response?.headers.get('Retry-After')?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** Resolves after `ms`, or rejects as fetch does when the caller gives up on the request meanwhile. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => {
      window.clearTimeout(timer);
      reject(new DOMException('The request was aborted', 'AbortError'));
    };
    if (signal?.aborted) return aborted();
    const timer = window.setTimeout(() => {
      signal?.removeEventListener('abort', aborted);
      resolve();
    }, ms);
    signal?.addEventListener('abort', aborted, { once: true });
  });
}

const nextWait = (backoffMs: number, response: Response | null) =>
  Math.min(RETRY.capMs, Math.max(backoffMs, retryAfterMs(response) ?? 0)) * (1 + Math.random() * RETRY.jitter);

let recovery: Promise<void> | null = null;

/**
 * After a change failed because Leadline was away, nothing else may be asking (a page that does not
 * poll): one calm read at a time finds out when it is back and takes the banner down.
 */
function watchForRecovery(response: Response | null) {
  recovery ??= pause(nextWait(RETRY.firstMs, response))
    .then(() => request<unknown>('GET', '/me'))
    .then(
      () => undefined,
      () => undefined,
    )
    .finally(() => (recovery = null));
}

/**
 * Sends a request. While Leadline is away (no answer, or 503 because a service behind the API is
 * restarting) the app says "Reconnecting…"; a read is tried again, calmly, until it is answered or
 * its caller aborts it, so a page waits instead of failing; a change is not, since it may not be safe
 * to make twice: it fails with a message to try again.
 */
async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const url = apiUrl(path, options.query);
  const connection = useConnectionStore();
  for (let backoffMs = RETRY.firstMs; ; backoffMs = Math.min(backoffMs * 2, RETRY.capMs)) {
    const response = await send(method, url, options);
    if (response && response.status !== 503) {
      // Any other answer, even a refusal, means Leadline and what it needs are there.
      connection.answered();
      return read<T>(response);
    }
    connection.lost();
    if (method !== 'GET') {
      watchForRecovery(response);
      if (!response) throw new ApiError(0, 'network_error', UNREACHABLE_MESSAGE);
      const server = toApiError(response, await response.json().catch(() => undefined));
      throw new ApiError(503, 'service_unavailable', UNAVAILABLE_MESSAGE, server.details);
    }
    await pause(nextWait(backoffMs, response), options.signal);
  }
}

async function read<T>(response: Response): Promise<T> {
  if (response.status === 204) return undefined as T;
  const payload: unknown = await response.json().catch(() => undefined);
  if (response.ok) return payload as T;

  const error = toApiError(response, payload);
  if (response.status === 401) onUnauthorized();
  throw error;
}

function toApiError(response: Response, payload: unknown): ApiError {
  const body = (payload as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (body && typeof body.code === 'string') {
    return new ApiError(response.status, body.code, typeof body.message === 'string' ? body.message : response.statusText, body.details);
  }
  // Not the API's error shape: a proxy or the dev server answered.
  return new ApiError(response.status, 'http_error', `The server answered ${response.status} ${response.statusText}`.trim());
}

/** The session is gone (expired, signed out elsewhere, user deactivated): forget it and ask to sign in. */
function onUnauthorized() {
  useSessionStore().clear();
  const current = router.currentRoute.value;
  // Before the first navigation the route guard does the redirect, with the page that was asked for.
  if (current === START_LOCATION || current.meta.public) return;
  void router.replace({ name: 'sign-in', query: { redirect: current.fullPath } });
}

export const api = {
  login: (email: string, password: string) => request<Session & { token: string }>('POST', '/auth/login', { body: { email, password } }),
  logout: () => request<void>('POST', '/auth/logout'),
  me: () => request<Session>('GET', '/me'),
  demoAccounts: (signal?: AbortSignal) => request<DemoAccounts>('GET', '/auth/demo-accounts', { signal }),

  listLeads: (query: LeadQuery, signal?: AbortSignal) => request<LeadPage>('GET', '/leads', { query: { ...query }, signal }),
  getLead: (id: string, signal?: AbortSignal) => request<LeadDetail>('GET', `/leads/${encodeURIComponent(id)}`, { signal }),
  createLead: (lead: NewLead) => request<{ lead: Lead }>('POST', '/leads', { body: lead }),
  contactLead: (id: string, input: ContactInput) => request<{ lead: Lead }>('POST', `/leads/${encodeURIComponent(id)}/contact`, { body: input }),
  convertLead: (id: string, input: ConvertInput) => request<{ lead: Lead }>('POST', `/leads/${encodeURIComponent(id)}/convert`, { body: input }),
  loseLead: (id: string, input: LoseInput) => request<{ lead: Lead }>('POST', `/leads/${encodeURIComponent(id)}/lose`, { body: input }),
  pauseLead: (id: string, input: PauseInput) => request<{ lead: Lead }>('POST', `/leads/${encodeURIComponent(id)}/pause`, { body: input }),
  resumeLead: (id: string) => request<{ lead: Lead }>('POST', `/leads/${encodeURIComponent(id)}/resume`, { body: {} }),
  reassignLead: (id: string, input: ReassignInput) => request<{ lead: Lead }>('POST', `/leads/${encodeURIComponent(id)}/reassign`, { body: input }),

  listTasks: (query: TaskQuery, signal?: AbortSignal) => request<TaskPage>('GET', '/tasks', { query: { ...query }, signal }),
  completeTask: (id: string, input: CompleteTaskInput) => request<{ task: InboxTask }>('POST', `/tasks/${encodeURIComponent(id)}/complete`, { body: input }),

  listPolicies: (signal?: AbortSignal) => request<{ items: Policy[] }>('GET', '/policies', { signal }),
  getPolicy: (id: string, signal?: AbortSignal) => request<{ policy: Policy }>('GET', `/policies/${encodeURIComponent(id)}`, { signal }),
  policyVersions: (id: string, signal?: AbortSignal) => request<{ items: PolicyVersion[] }>('GET', `/policies/${encodeURIComponent(id)}/versions`, { signal }),
  savePolicy: (id: string, rules: PolicyRules) => request<PolicySaved>('PUT', `/policies/${encodeURIComponent(id)}`, { body: { rules } }),
  simulatePolicy: (id: string, rules: PolicyRules, signal?: AbortSignal) =>
    request<Simulation>('POST', `/policies/${encodeURIComponent(id)}/simulate`, { body: { rules }, signal }),

  listUsers: (query: UserQuery, signal?: AbortSignal) => request<UserPage>('GET', '/users', { query: { ...query }, signal }),
  createUser: (user: NewUser) => request<{ user: UserDetail }>('POST', '/users', { body: user }),
  updateUser: (id: string, changes: UserChanges) => request<{ user: UserDetail }>('PATCH', `/users/${encodeURIComponent(id)}`, { body: changes }),
  listTeams: (signal?: AbortSignal) => request<{ items: TeamListItem[] }>('GET', '/teams', { signal }),
  createTeam: (team: NewTeam) => request<{ team: Team }>('POST', '/teams', { body: team }),
  updateTeam: (id: string, changes: TeamChanges) => request<{ team: Team }>('PATCH', `/teams/${encodeURIComponent(id)}`, { body: changes }),

  stats: (query: StatsQuery, signal?: AbortSignal) => request<Stats>('GET', '/stats', { query: { ...query }, signal }),
  system: (signal?: AbortSignal) => request<SystemStatus>('GET', '/system', { signal }),
  /** The same figures as a CSV file, for a plain download link: the session cookie goes with it. */
  statsCsvHref: (query: StatsQuery) => {
    const url = apiUrl('/stats', { ...query, format: 'csv' });
    return `${url.pathname}${url.search}`;
  },
};
