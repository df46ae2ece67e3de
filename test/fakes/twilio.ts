import { randomBytes } from 'node:crypto';
import { hangUp, json, startFake, type RecordedRequest } from './http.js';

/** A message the fake accepted, as Twilio would keep it. */
export interface FakeSms {
  sid: string;
  to: string;
  from: string;
  body: string;
  statusCallback: string | null;
  dateCreated: Date;
}

export interface TwilioError {
  status: number;
  code: number;
  message: string;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/**
 * The part of Twilio's REST API the SDK uses to send: create a message and list messages to a number.
 * Answers like Twilio (JSON, RFC 2822 dates, error bodies with a code), checks Basic auth, and can be
 * told to fail: an error for the next few sends, a dropped connection after accepting one, a number
 * that always gets a given error.
 */
export async function startFakeTwilio() {
  const accountSid = `AC${hex(16)}`;
  const authToken = hex(16);
  const messages: FakeSms[] = [];
  const failures = new Map<string, TwilioError[]>();
  const drops = new Map<string, number>();
  const rejected = new Map<string, TwilioError>();
  const base = `/2010-04-01/Accounts/${accountSid}/Messages.json`;

  const resource = (m: FakeSms) => ({
    account_sid: accountSid,
    api_version: '2010-04-01',
    body: m.body,
    date_created: m.dateCreated.toUTCString(),
    date_sent: null,
    date_updated: m.dateCreated.toUTCString(),
    direction: 'outbound-api',
    error_code: null,
    error_message: null,
    from: m.from,
    messaging_service_sid: null,
    num_media: '0',
    num_segments: '1',
    price: null,
    price_unit: 'USD',
    sid: m.sid,
    status: 'queued',
    subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${m.sid}/Media.json` },
    to: m.to,
    uri: `/2010-04-01/Accounts/${accountSid}/Messages/${m.sid}.json`,
  });
  const error = (e: TwilioError) => ({ code: e.code, message: e.message, more_info: `https://www.twilio.com/docs/errors/${e.code}`, status: e.status });

  const authorized = (request: RecordedRequest) => request.headers.authorization === `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;

  const fake = await startFake((request, res) => {
    if (request.path !== base) return json(res, 404, error({ status: 404, code: 20404, message: 'The requested resource was not found' }));
    if (!authorized(request)) return json(res, 401, error({ status: 401, code: 20003, message: 'Authenticate' }));
    if (request.method === 'GET') {
      const to = request.query.get('To');
      const found = messages.filter((m) => !to || m.to === to).reverse();
      return json(res, 200, { messages: found.map(resource), end: found.length, first_page_uri: base, next_page_uri: null, page: 0, page_size: 50, previous_page_uri: null, start: 0, uri: base });
    }
    const form = new URLSearchParams(request.body);
    const to = form.get('To') ?? '';
    const failure = rejected.get(to) ?? failures.get(to)?.shift();
    if (failure) return json(res, failure.status, error(failure));
    const message: FakeSms = { sid: `SM${hex(16)}`, to, from: form.get('From') ?? '', body: form.get('Body') ?? '', statusCallback: form.get('StatusCallback'), dateCreated: new Date() };
    messages.push(message);
    if ((drops.get(to) ?? 0) > 0) {
      drops.set(to, drops.get(to)! - 1);
      return hangUp(res);
    }
    json(res, 201, resource(message));
  });

  return {
    url: fake.url,
    accountSid,
    authToken,
    /** Every request that reached the fake, failed ones too. */
    requests: fake.requests,
    /** Messages it accepted. */
    messages,
    /** Creation requests (POSTs) that reached it, accepted or not, to one number. */
    sendsTo: (to: string) => fake.requests.filter((r) => r.method === 'POST' && new URLSearchParams(r.body).get('To') === to),
    accepted: (to: string) => messages.filter((m) => m.to === to),
    /** The next `count` sends to this number get this error (a Twilio 500 by default). */
    failNext(to: string, count: number, failure: TwilioError = { status: 500, code: 20500, message: 'Internal Server Error' }) {
      failures.set(to, [...(failures.get(to) ?? []), ...Array.from({ length: count }, () => failure)]);
    },
    /** The next `count` sends to this number are accepted, then the connection drops before the answer. */
    dropNext(to: string, count: number) {
      drops.set(to, (drops.get(to) ?? 0) + count);
    },
    reject(to: string, failure: TwilioError) {
      rejected.set(to, failure);
    },
    close: fake.close,
  };
}

export type FakeTwilio = Awaited<ReturnType<typeof startFakeTwilio>>;
