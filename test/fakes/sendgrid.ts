import { randomBytes } from 'node:crypto';
import { hangUp, json, startFake, type RecordedRequest } from './http.js';

/** The v3 mail/send body, as far as the tests look at it. */
export interface SentMail {
  personalizations: { to: { email: string; name?: string }[] }[];
  from: { email: string; name?: string };
  subject: string;
  content: { type: string; value: string }[];
  headers?: Record<string, string>;
  custom_args?: Record<string, string>;
}

export interface AcceptedMail {
  messageId: string;
  mail: SentMail;
  request: RecordedRequest;
}

/**
 * SendGrid's `POST /v3/mail/send`: 202 with an `X-Message-Id` for a request with the right Bearer key,
 * SendGrid's error body otherwise. Can be told to fail the next few sends, or to accept one and drop
 * the connection before answering.
 */
export async function startFakeSendgrid(apiKey: string) {
  const accepted: AcceptedMail[] = [];
  const failures = new Map<string, number[]>();
  const drops = new Map<string, number>();
  const fake = await startFake((request, res) => {
    if (request.method !== 'POST' || request.path !== '/v3/mail/send') return json(res, 404, { errors: [{ message: 'Not found' }] });
    if (request.headers.authorization !== `Bearer ${apiKey}`) return json(res, 401, { errors: [{ message: 'The provided authorization grant is invalid, expired, or revoked', field: null, help: null }] });
    const mail = JSON.parse(request.body) as SentMail;
    const to = mail.personalizations[0]?.to[0]?.email ?? '';
    const status = failures.get(to)?.shift();
    if (status) return json(res, status, { errors: [{ message: status >= 500 ? 'Internal server error' : 'Bad request', field: null, help: null }] });
    const messageId = randomBytes(16).toString('base64url').slice(0, 22);
    accepted.push({ messageId, mail, request });
    if ((drops.get(to) ?? 0) > 0) {
      drops.set(to, drops.get(to)! - 1);
      return hangUp(res);
    }
    res.writeHead(202, { 'X-Message-Id': messageId });
    res.end();
  });
  const sends = () => fake.requests.filter((r) => r.method === 'POST');
  return {
    url: fake.url,
    requests: fake.requests,
    accepted,
    /** Send requests that reached it, accepted or not, to one address. */
    sendsTo: (email: string) => sends().filter((r) => (JSON.parse(r.body) as SentMail).personalizations.some((p) => p.to.some((t) => t.email === email))),
    acceptedTo: (email: string) => accepted.filter((a) => a.mail.personalizations.some((p) => p.to.some((t) => t.email === email))),
    /** The next `count` sends to this address get this HTTP status. */
    failNext(to: string, count: number, status = 500) {
      failures.set(to, [...(failures.get(to) ?? []), ...Array.from({ length: count }, () => status)]);
    },
    /** The next `count` sends to this address are accepted, then the connection drops before the answer. */
    dropNext(to: string, count: number) {
      drops.set(to, (drops.get(to) ?? 0) + count);
    },
    close: fake.close,
  };
}

export type FakeSendgrid = Awaited<ReturnType<typeof startFakeSendgrid>>;
