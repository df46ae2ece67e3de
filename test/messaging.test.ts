import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EventWebhookHeader } from '@sendgrid/eventwebhook';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DateTime } from 'luxon';
import request from 'supertest';
import twilio from 'twilio';
import { createActivities } from '../activities/index.js';
import { LeadEventSchema, LeadSchema, MessageSchema, OptOutSchema, TaskSchema, UserSchema, type Message } from '../db/entities.js';
import { leadWorkflowId } from '../domain/lead.js';
import type { CadenceStep, PolicyRules } from '../domain/policy.js';
import { smsKeyword } from '../messaging/optOuts.js';
import { providerSettings, type ProviderSettings } from '../messaging/settings.js';
import { SMS_HELP_TEXT } from '../messaging/templates.js';
import { leadTimezone, phoneTimezone, representativeZones } from '../messaging/timezone.js';
import { readUnsubscribeToken, unsubscribeToken } from '../messaging/unsubscribe.js';
import { explainQuery } from '../workflows/definitions.js';
import { startFakeSendgrid, type FakeSendgrid } from './fakes/sendgrid.js';
import { startFakeTwilio, type FakeTwilio } from './fakes/twilio.js';
import { allHours, eventually, startHarness, type Harness, stillPolicy } from './harness.js';

/** What Twilio and SendGrid know this service by; webhooks are signed for these URLs. */
const SITE = 'https://leadline.example.com';
const SENDER = '+15017122661';
const SENDGRID_KEY = 'SG.test-key-for-the-fake';

let h: Harness;
let tw: FakeTwilio;
let sg: FakeSendgrid;
let eventKey: KeyObject;
let providers: ProviderSettings;

beforeAll(async () => {
  [tw, sg] = await Promise.all([startFakeTwilio(), startFakeSendgrid(SENDGRID_KEY)]);
  const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  eventKey = keys.privateKey;
  providers = {
    publicUrl: SITE,
    unsubscribeSecret: 'unsubscribe-secret-for-the-messaging-tests',
    twilio: { accountSid: tw.accountSid, authToken: tw.authToken, from: SENDER, apiBaseUrl: tw.url },
    sendgrid: {
      apiKey: SENDGRID_KEY,
      from: 'leads@leadline.example.com',
      fromName: 'Leadline',
      webhookPublicKey: keys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      apiBaseUrl: sg.url,
    },
  };
  h = await startHarness({ providers });
});

afterAll(async () => {
  await h?.stop();
  await Promise.all([tw?.close(), sg?.close()]);
});

const still = stillPolicy;
const sms = (after: string): CadenceStep => ({ after, action: 'sms', template: 'followup_sms' });
const email = (after: string): CadenceStep => ({ after, action: 'email', template: 'followup_email' });

const em = () => h.orm.em.fork();
const lead = (leadId: string) => em().findOneOrFail(LeadSchema, leadId);
const eventsOf = async (leadId: string, type: string) => em().find(LeadEventSchema, { lead: leadId, type }, { orderBy: { at: 'asc' } });
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The lead's outbound message on a channel once its send has finished (no longer queued). */
const finished = (leadId: string, channel: 'sms' | 'email', n = 1) =>
  eventually(async () => {
    const rows = await em().find(MessageSchema, { lead: leadId, channel, direction: 'outbound', status: { $ne: 'queued' } }, { orderBy: { createdAt: 'asc' } });
    return rows.length >= n ? rows[n - 1] : null;
  }, 30_000);

let teams = 0;
/** A team of one rep, a lead assigned to them, and (unless told otherwise) contact logged, which starts the cadence. */
async function leadInCadence(cadence: CadenceStep[], fields: { name?: string; phone?: string; email?: string; timezone?: string }, rules: Partial<PolicyRules> = {}, contact = true) {
  const team = await h.createTeam(`Msg${++teams}`, [{}], { ...still, cadence, ...rules });
  const leadId = await h.startLead(team.id, { name: 'Robin Lead', ...fields });
  await eventually(async () => (await lead(leadId)).assignee);
  if (contact) {
    const rep = await h.login(team.staff[0]!.email);
    await request(h.app).post(`/api/leads/${leadId}/contact`).set('Authorization', rep).send({ channel: 'phone', outcome: 'Spoke briefly' }).expect(200);
  }
  return { team, leadId };
}

/** Posts a form to a Twilio webhook, signed as Twilio signs it unless told otherwise. */
function twilioPost(path: string, params: Record<string, string>, signature?: string | null) {
  const signed = signature === undefined ? twilio.getExpectedTwilioSignature(tw.authToken, `${SITE}${path}`, params) : signature;
  const post = request(h.app).post(path).type('form').send(params);
  return signed === null ? post : post.set('X-Twilio-Signature', signed);
}

let smsSids = 0;
const inbound = (from: string, body: string, sid = `SMinbound${String(++smsSids).padStart(24, '0')}`) => ({ MessageSid: sid, AccountSid: tw.accountSid, From: from, To: SENDER, Body: body });

/** Posts SendGrid events, signed with the webhook key as SendGrid signs them (timestamp + raw body). */
function sendgridPost(events: object[], options: { tamper?: boolean; unsigned?: boolean } = {}) {
  const payload = `${JSON.stringify(events)}\r\n`;
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign('sha256', Buffer.from(timestamp + payload), eventKey).toString('base64');
  let post = request(h.app).post('/webhooks/sendgrid/events').set('Content-Type', 'application/json');
  if (!options.unsigned) post = post.set(EventWebhookHeader.SIGNATURE(), signature).set(EventWebhookHeader.TIMESTAMP(), timestamp);
  return post.send(options.tamper ? payload.replace('delivered', 'bounce') : payload);
}

/** Runs an activity as its `n`th attempt of five, as Temporal would with the send activities' retry policy. */
const asAttempt = <I, R>(n: number, activity: (input: I) => Promise<R>, input: I): Promise<R> =>
  new MockActivityEnvironment({ attempt: n, retryPolicy: { maximumAttempts: 5 } }).run(activity, input) as Promise<R>;

describe('cadence messages through the real SDKs', () => {
  it('sends the SMS with Twilio and the email with SendGrid, with the lead’s fields, a status callback and one-click unsubscribe', async () => {
    const phone = '+12025550101';
    const address = 'robin.sdk@example.com';
    const { leadId } = await leadInCadence([sms('0s'), email('1s')], { name: 'Robin Sdk', phone, email: address });

    const text = await finished(leadId, 'sms');
    const [accepted] = tw.accepted(phone);
    expect(text).toMatchObject({ status: 'sent', to: phone, from: SENDER, providerId: accepted!.sid, error: null });
    expect(accepted).toMatchObject({ from: SENDER, statusCallback: `${SITE}/webhooks/twilio/status?messageId=${text.id}` });
    expect(accepted!.body).toBe(text.body);
    expect(accepted!.body).toMatch(/^Hi Robin, it's Msg\d+ Rep 1 from Leadline .* Reply STOP to opt out\.$/);
    expect(tw.sendsTo(phone)[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`${tw.accountSid}:${tw.authToken}`).toString('base64')}`);

    const mail = await finished(leadId, 'email');
    const [sent] = sg.acceptedTo(address);
    expect(mail).toMatchObject({ status: 'sent', to: address, from: 'leads@leadline.example.com', providerId: sent!.messageId });
    expect(sent!.mail).toMatchObject({
      from: { email: 'leads@leadline.example.com', name: 'Leadline' },
      subject: 'Following up on your inquiry, Robin',
      custom_args: { messageId: mail.id, leadId },
    });
    const link = `${SITE}/unsubscribe?token=${unsubscribeToken(providers.unsubscribeSecret, address)}`;
    expect(sent!.mail.headers).toEqual({ 'List-Unsubscribe': `<${link}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' });
    expect(sent!.mail.content).toEqual([{ type: 'text/plain', value: expect.stringContaining(`Unsubscribe: ${link}`) }]);
    expect(mail.body.startsWith('Following up on your inquiry, Robin\n\nHi Robin,')).toBe(true);

    expect((await eventsOf(leadId, 'message_sent')).map((e) => [e.data.channel, e.data.providerId])).toEqual([
      ['sms', accepted!.sid],
      ['email', sent!.messageId],
    ]);
  }, 60_000);

  it('retries a provider failure with backoff and still sends once; a send whose answer was lost is looked up, not repeated', async () => {
    const failing = '+12025550102';
    tw.failNext(failing, 2);
    const first = await leadInCadence([sms('0s')], { phone: failing });
    const dropped = '+12025550103';
    tw.dropNext(dropped, 1);
    const second = await leadInCadence([sms('0s')], { phone: dropped });

    const retried = await finished(first.leadId, 'sms');
    expect(tw.sendsTo(failing)).toHaveLength(3);
    expect(tw.accepted(failing)).toHaveLength(1);
    expect(retried).toMatchObject({ status: 'sent', providerId: tw.accepted(failing)[0]!.sid, error: null, sendStartedAt: null });

    // Twilio took the first request but the answer never came: the retry finds it in Twilio's log.
    const found = await finished(second.leadId, 'sms');
    expect(tw.sendsTo(dropped)).toHaveLength(1);
    expect(tw.requests.filter((r) => r.method === 'GET' && r.query.get('To') === dropped).length).toBeGreaterThanOrEqual(1);
    expect(found).toMatchObject({ status: 'sent', providerId: tw.accepted(dropped)[0]!.sid });
    for (const { leadId } of [first, second]) expect(await eventsOf(leadId, 'message_sent')).toHaveLength(1);
  }, 60_000);

  it('retries a SendGrid 500, and never sends an email twice when SendGrid cannot say whether it took it', async () => {
    const flaky = 'flaky.sendgrid@example.com';
    sg.failNext(flaky, 1);
    const first = await leadInCadence([email('0s')], { email: flaky });
    const lost = 'lost.answer@example.com';
    sg.dropNext(lost, 1);
    const second = await leadInCadence([email('0s')], { email: lost });

    expect(await finished(first.leadId, 'email')).toMatchObject({ status: 'sent', providerId: sg.acceptedTo(flaky)[0]!.messageId });
    expect(sg.sendsTo(flaky)).toHaveLength(2);
    expect(sg.acceptedTo(flaky)).toHaveLength(1);

    const unknown = await finished(second.leadId, 'email');
    expect(sg.sendsTo(lost)).toHaveLength(1);
    expect(unknown.status).toBe('failed');
    expect(unknown.error).toMatch(/sendgrid cannot tell whether it took it, so it is not sent again/);
    // SendGrid's delivery event (carrying our id) later says it went out after all.
    await sendgridPost([{ event: 'delivered', sg_event_id: 'evt-lost-1', email: lost, messageId: unknown.id, sg_message_id: `${sg.acceptedTo(lost)[0]!.messageId}.filter0001` }]).expect(204);
    expect(await em().findOneOrFail(MessageSchema, unknown.id)).toMatchObject({ status: 'delivered', providerId: sg.acceptedTo(lost)[0]!.messageId });
  }, 60_000);

  it('fails fast on an invalid number, and records an opt-out when Twilio says the number unsubscribed', async () => {
    const invalid = '+12025550104';
    tw.reject(invalid, { status: 400, code: 21211, message: `The 'To' number ${invalid} is not a valid phone number.` });
    const first = await leadInCadence([sms('0s')], { phone: invalid });
    const unsubscribed = '+12025550105';
    tw.reject(unsubscribed, { status: 400, code: 21610, message: 'Attempt to send to unsubscribed recipient' });
    const second = await leadInCadence([sms('0s')], { phone: unsubscribed });

    expect(await finished(first.leadId, 'sms')).toMatchObject({ status: 'failed', error: `Twilio 21211: The 'To' number ${invalid} is not a valid phone number.` });
    expect(tw.sendsTo(invalid)).toHaveLength(1);
    expect((await eventsOf(first.leadId, 'message_failed')).map((e) => e.data.error)).toEqual([expect.stringContaining('21211')]);

    expect(await finished(second.leadId, 'sms')).toMatchObject({ status: 'failed', error: 'Twilio 21610: Attempt to send to unsubscribed recipient' });
    expect(tw.sendsTo(unsubscribed)).toHaveLength(1);
    expect(await em().findOne(OptOutSchema, { address: unsubscribed, channel: 'sms' })).toMatchObject({ source: 'stop_keyword' });
    expect((await lead(second.leadId)).smsOptOut).toBe(true);
  }, 60_000);

  it('keeps a failing send queued for Temporal to retry, and records it failed on the last attempt', async () => {
    const team = await h.createTeam('LastAttempt', [{}], still);
    const phone = '+12025550106';
    const row = em();
    const leadRow = row.create(LeadSchema, { name: 'Last Attempt', team: team.id, phone, source: 'test' });
    await row.flush();
    const activities = createActivities({ orm: h.orm, providers });
    const input = { leadId: leadRow.id, key: `test:last-attempt:${leadRow.id}`, policyVersion: 1, channel: 'sms' as const, template: 'followup_sms' };
    tw.failNext(phone, 2, { status: 503, code: 20503, message: 'Service Unavailable' });

    await expect(asAttempt(1, activities.sendLeadMessage, input)).rejects.toMatchObject({ type: 'ProviderUnavailable', nonRetryable: false });
    expect(await em().findOneOrFail(MessageSchema, { idempotencyKey: input.key })).toMatchObject({ status: 'queued', error: 'Twilio 20503: Service Unavailable', sendStartedAt: null });

    expect(await asAttempt(5, activities.sendLeadMessage, input)).toMatchObject({ status: 'failed', reason: 'Twilio 20503: Service Unavailable' });
    expect(await em().findOneOrFail(MessageSchema, { idempotencyKey: input.key })).toMatchObject({ status: 'failed', error: 'Twilio 20503: Service Unavailable' });
    expect(await eventsOf(leadRow.id, 'message_failed')).toHaveLength(1);
    // A later retry of the same step finds the final row and sends nothing.
    expect(await asAttempt(2, activities.sendLeadMessage, input)).toMatchObject({ status: 'failed' });
    expect(tw.sendsTo(phone)).toHaveLength(2);
  });

  it('sends nothing to an opted-out number', async () => {
    const phone = '+12025550107';
    const row = em();
    row.create(OptOutSchema, { address: phone, channel: 'sms', source: 'manual' });
    await row.flush();
    const { leadId } = await leadInCadence([sms('0s')], { phone });
    expect(await finished(leadId, 'sms')).toMatchObject({ status: 'suppressed', to: phone });
    expect(tw.sendsTo(phone)).toHaveLength(0);
    expect(await eventsOf(leadId, 'message_suppressed')).toHaveLength(1);
  }, 30_000);
});

describe('quiet hours by the phone number’s country', () => {
  /** Numbers whose countries' nights cover every hour of the day between them. */
  const candidates = ['+447400123456', '+819012345678', '+919876543210', '+64211234567', '+5511987654321'];

  it('defers outreach to a lead whose number says it is night there, and sends nothing meanwhile', async () => {
    const night = candidates
      .map((phone) => ({ phone, zone: phoneTimezone(phone, 'America/New_York')! }))
      .find(({ zone }) => {
        const local = DateTime.now().setZone(zone);
        const minute = local.hour * 60 + local.minute;
        return minute >= 21 * 60 + 2 || minute < 7 * 60 + 55;
      })!;
    const { leadId } = await leadInCadence([sms('0s')], { phone: night.phone }, { quietHours: { start: '21:00', end: '08:00' } });

    const explained = await eventually(async () => {
      const e = await h.temporal.workflow.getHandle(leadWorkflowId(leadId)).query(explainQuery);
      return e.phase === 'cadence' ? e : null;
    });
    expect(explained.plan.timezone).toBe(night.zone);
    const step = explained.deadlines.find((d) => d.kind === 'cadence');
    expect(step).toMatchObject({ kind: 'cadence', action: 'sms', quietHoursDeferred: true });
    const at = DateTime.fromISO(step!.at!).setZone(night.zone);
    expect([at.hour, at.minute]).toEqual([8, 0]);
    expect(at.toMillis()).toBeGreaterThan(Date.now());

    await pause(2_000);
    expect(await em().count(MessageSchema, { lead: leadId })).toBe(0);
    expect(tw.sendsTo(night.phone)).toHaveLength(0);
  }, 30_000);

  it('picks the lead’s own zone, else the number’s (the team’s when the country has it), else the team’s', () => {
    expect(phoneTimezone('+12025550142', 'America/Chicago')).toBe('America/Chicago');
    expect(phoneTimezone('+12025550142', 'Europe/Berlin')).toBe('America/New_York');
    expect(phoneTimezone('+819012345678', 'America/New_York')).toBe('Asia/Tokyo');
    expect(phoneTimezone('+61412345678', 'UTC')).toBe('Australia/Sydney');
    expect(phoneTimezone('+12', 'UTC')).toBeNull();
    const team = { timezone: 'America/Chicago' };
    expect(leadTimezone({ timezone: 'Europe/Paris', phone: '+819012345678', team })).toBe('Europe/Paris');
    expect(leadTimezone({ timezone: null, phone: '+819012345678', team })).toBe('Asia/Tokyo');
    expect(leadTimezone({ timezone: null, phone: null, team })).toBe('America/Chicago');
    for (const zone of Object.values(representativeZones)) expect(DateTime.now().setZone(zone).isValid).toBe(true);
  });
});

describe('Twilio webhooks', () => {
  it('turns a signed reply into an inbound message on the lead and a reply task, once however often it is delivered', async () => {
    const phone = '+12025550110';
    const { leadId } = await leadInCadence([], { phone }, {}, false);
    const reply = inbound(phone, 'Yes, call me tomorrow');

    const res = await twilioPost('/webhooks/twilio/sms', reply).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/xml/);
    expect(res.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    const task = await eventually(() => em().findOne(TaskSchema, { lead: leadId, kind: 'reply' }));
    expect(task.title).toBe('Reply to the lead’s text');

    await twilioPost('/webhooks/twilio/sms', reply).expect(200);
    await pause(1_500);
    const messages = await em().find(MessageSchema, { lead: leadId, direction: 'inbound' });
    expect(messages.map((m) => [m.status, m.from, m.body, m.providerId])).toEqual([['received', phone, 'Yes, call me tomorrow', reply.MessageSid]]);
    expect(await em().count(TaskSchema, { lead: leadId, kind: 'reply' })).toBe(1);
    expect(await eventsOf(leadId, 'message_received')).toHaveLength(1);
  }, 30_000);

  it('refuses unsigned and wrongly signed posts and changes nothing', async () => {
    const phone = '+12025550111';
    const { leadId } = await leadInCadence([], { phone }, {}, false);
    const stop = inbound(phone, 'STOP');
    await twilioPost('/webhooks/twilio/sms', stop, null).expect(403);
    const other = twilio.getExpectedTwilioSignature(tw.authToken, `${SITE}/webhooks/twilio/sms`, { ...stop, Body: 'hello' });
    await twilioPost('/webhooks/twilio/sms', stop, other).expect(403);
    // Signed for another host: Twilio signs the URL it posted to.
    await twilioPost('/webhooks/twilio/sms', stop, twilio.getExpectedTwilioSignature(tw.authToken, 'https://elsewhere.example.com/webhooks/twilio/sms', stop)).expect(403);
    await twilioPost('/webhooks/twilio/status', { MessageSid: 'SMx', MessageStatus: 'delivered' }, 'bogus').expect(403);
    expect(await em().count(MessageSchema, { lead: leadId })).toBe(0);
    expect(await em().count(OptOutSchema, { address: phone })).toBe(0);
    expect((await lead(leadId)).smsOptOut).toBe(false);
  });

  it('STOP opts the number out of every lead with it and later cadence texts are suppressed; HELP answers; START undoes it', async () => {
    const phone = '+12025550112';
    const { leadId } = await leadInCadence([sms('0s'), sms('8s')], { phone });
    await finished(leadId, 'sms');

    const stop = await twilioPost('/webhooks/twilio/sms', inbound(phone, '  stop ')).expect(200);
    expect(stop.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    expect(await em().findOne(OptOutSchema, { address: phone, channel: 'sms' })).toMatchObject({ source: 'stop_keyword' });
    expect((await lead(leadId)).smsOptOut).toBe(true);
    expect(await eventsOf(leadId, 'opted_out')).toHaveLength(1);

    expect(await finished(leadId, 'sms', 2)).toMatchObject({ status: 'suppressed' });
    expect(tw.accepted(phone)).toHaveLength(1);
    // A keyword is not a reply: no reply task, outreach is not paused for it.
    expect(await em().count(TaskSchema, { lead: leadId, kind: 'reply' })).toBe(0);

    const help = await twilioPost('/webhooks/twilio/sms', inbound(phone, 'help')).expect(200);
    expect(help.text).toContain(`<Message>${SMS_HELP_TEXT.replace(/&/g, '&amp;')}</Message>`);

    await twilioPost('/webhooks/twilio/sms', inbound(phone, 'Start')).expect(200);
    expect(await em().count(OptOutSchema, { address: phone, channel: 'sms' })).toBe(0);
    expect((await lead(leadId)).smsOptOut).toBe(false);
    expect(await eventsOf(leadId, 'opted_in')).toHaveLength(1);
  }, 30_000);

  it('reads every opt-out keyword as the whole message, in any case', () => {
    for (const word of ['STOP', 'stopall', 'Unsubscribe', 'cancel', 'END', 'quit', 'revoke', 'opt out', ' OPT   OUT ']) expect(smsKeyword(word)).toBe('stop');
    for (const word of ['start', 'UNSTOP']) expect(smsKeyword(word)).toBe('start');
    expect(smsKeyword('Help')).toBe('help');
    for (const text of ['stop calling me at work', 'please stop', 'STOP.', 'Yes']) expect(smsKeyword(text)).toBeNull();
  });

  it('records delivery status from signed callbacks, once', async () => {
    const phone = '+12025550113';
    const failedPhone = '+12025550114';
    const { leadId } = await leadInCadence([sms('0s')], { phone });
    const other = await leadInCadence([sms('0s')], { phone: failedPhone });
    const text = await finished(leadId, 'sms');
    const lostText = await finished(other.leadId, 'sms');

    const path = `/webhooks/twilio/status?messageId=${text.id}`;
    const delivered = { MessageSid: text.providerId!, MessageStatus: 'delivered', AccountSid: tw.accountSid };
    await twilioPost(path, { ...delivered, MessageStatus: 'sent' }).expect(204);
    await twilioPost(path, delivered).expect(204);
    await twilioPost(path, delivered).expect(204);
    await twilioPost(path, { ...delivered, MessageStatus: 'sent' }).expect(204);
    expect(await em().findOneOrFail(MessageSchema, text.id)).toMatchObject({ status: 'delivered' });
    expect(await eventsOf(leadId, 'message_delivered')).toHaveLength(1);

    // Without our id in the URL the SID finds the message.
    await twilioPost('/webhooks/twilio/status', { MessageSid: lostText.providerId!, MessageStatus: 'undelivered', ErrorCode: '30003' }).expect(204);
    expect(await em().findOneOrFail(MessageSchema, lostText.id)).toMatchObject({ status: 'failed', error: 'Twilio 30003: undelivered' });
    expect(await eventsOf(other.leadId, 'message_failed')).toHaveLength(1);
  }, 30_000);
});

describe('SendGrid webhooks and unsubscribe', () => {
  it('applies signed events once: delivered, bounce, unsubscribe', async () => {
    const address = 'events.lead@example.com';
    const { leadId } = await leadInCadence([email('0s')], { email: address });
    const mail = await finished(leadId, 'email');
    const sgId = `${mail.providerId}.filter0001.1.2`;
    const batch = [
      { event: 'processed', sg_event_id: 'evt-1', email: address, messageId: mail.id, sg_message_id: sgId, timestamp: 1 },
      { event: 'delivered', sg_event_id: 'evt-2', email: address, messageId: mail.id, sg_message_id: sgId, timestamp: 2 },
      { event: 'open', sg_event_id: 'evt-3', email: address, messageId: mail.id, sg_message_id: sgId, timestamp: 3 },
    ];
    await sendgridPost(batch).expect(204);
    await sendgridPost(batch).expect(204);
    expect(await em().findOneOrFail(MessageSchema, mail.id)).toMatchObject({ status: 'delivered' });
    expect(await eventsOf(leadId, 'message_delivered')).toHaveLength(1);

    await sendgridPost([{ event: 'unsubscribe', sg_event_id: 'evt-4', email: 'Events.Lead@example.com', messageId: mail.id }]).expect(204);
    expect(await em().findOne(OptOutSchema, { address, channel: 'email' })).toMatchObject({ source: 'unsubscribe' });
    expect((await lead(leadId)).emailOptOut).toBe(true);

    const bounced = 'bounced.lead@example.com';
    const other = await leadInCadence([email('0s')], { email: bounced });
    const bouncedMail = await finished(other.leadId, 'email');
    // By SendGrid's own id, as events from before custom args would come.
    await sendgridPost([{ event: 'bounce', sg_event_id: 'evt-5', email: bounced, sg_message_id: `${bouncedMail.providerId}.filter0002`, reason: '550 5.1.1 No such user' }]).expect(204);
    expect(await em().findOneOrFail(MessageSchema, bouncedMail.id)).toMatchObject({ status: 'failed', error: 'SendGrid bounce: 550 5.1.1 No such user' });
  }, 30_000);

  it('refuses unsigned and tampered event posts and changes nothing', async () => {
    const address = 'tamper.lead@example.com';
    const { leadId } = await leadInCadence([email('0s')], { email: address });
    const mail = await finished(leadId, 'email');
    const events = [{ event: 'delivered', sg_event_id: 'evt-t1', email: address, messageId: mail.id }];
    await sendgridPost(events, { unsigned: true }).expect(403);
    await sendgridPost(events, { tamper: true }).expect(403);
    await request(h.app).post('/webhooks/sendgrid/events').set('Content-Type', 'application/json').set(EventWebhookHeader.SIGNATURE(), 'not-a-signature').set(EventWebhookHeader.TIMESTAMP(), '1').send(events).expect(403);
    expect(await em().findOneOrFail(MessageSchema, mail.id)).toMatchObject({ status: 'sent' });
    // The same events, signed, do apply: nothing about them was remembered from the refused posts.
    await sendgridPost(events).expect(204);
    expect(await em().findOneOrFail(MessageSchema, mail.id)).toMatchObject({ status: 'delivered' });
  }, 30_000);

  it('unsubscribes in one click from the List-Unsubscribe link of a sent email; a tampered link does nothing', async () => {
    const address = 'one.click@example.com';
    const { leadId } = await leadInCadence([email('0s')], { email: address });
    await finished(leadId, 'email');
    const header = sg.acceptedTo(address)[0]!.mail.headers!['List-Unsubscribe']!;
    const link = new URL(header.slice(1, -1));
    expect(link.origin).toBe(SITE);
    const path = `${link.pathname}${link.search}`;

    const page = await request(h.app).get(path).expect(200);
    expect(page.text).toContain('<form method="post"');
    expect(await em().count(OptOutSchema, { address })).toBe(0);

    await request(h.app).post(`${path}x`).type('form').send('List-Unsubscribe=One-Click').expect(403);
    expect(await em().count(OptOutSchema, { address })).toBe(0);

    await request(h.app).post(path).type('form').send('List-Unsubscribe=One-Click').expect(200);
    expect(await em().findOne(OptOutSchema, { address, channel: 'email' })).toMatchObject({ source: 'unsubscribe' });
    expect((await lead(leadId)).emailOptOut).toBe(true);
    expect(readUnsubscribeToken('another-secret-of-sufficient-length', link.searchParams.get('token')!)).toBeNull();
  }, 30_000);
});

describe('notices to staff', () => {
  let people = 0;
  /** Whether the lead's workflow has completed a `notifyStaff` activity. */
  async function workflowNoticeDone(leadId: string) {
    const events = (await h.temporal.workflow.getHandle(leadWorkflowId(leadId)).fetchHistory()).events ?? [];
    const notices = new Set(
      events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'notifyStaff').map((e) => String(e.eventId)),
    );
    return events.some((e) => notices.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)));
  }

  async function repWithChannels(teamName: string) {
    const n = ++people;
    const team = await h.createTeam(teamName, [{}], still);
    const leadId = await h.startLead(team.id, { name: 'Noticed Lead', phone: `+1202555${String(300 + n).padStart(4, '0')}`, email: `noticed.${n}@example.com` });
    // Assigned, with its first-contact task (the notice says when it is due), and the workflow's own
    // assignment notice done before the rep gets channels, so it went nowhere. Under load the notice
    // can run well after the task: wait for it in the history.
    await eventually(() => em().findOne(TaskSchema, { lead: leadId, kind: 'first_contact' }));
    await eventually(() => workflowNoticeDone(leadId));
    const rows = em();
    const rep = await rows.findOneOrFail(UserSchema, team.staff[0]!.id);
    rep.phone = `+1202555${String(200 + n).padStart(4, '0')}`;
    rep.notifyBy = ['sms', 'email'];
    (await rows.findOneOrFail(UserSchema, team.managerId)).notifyBy = ['email'];
    await rows.flush();
    return { team, rep, leadId, activities: createActivities({ orm: h.orm, providers }) };
  }

  it('tells the assignee on each of their channels, once however often the activity runs', async () => {
    const { rep, leadId, activities } = await repWithChannels('Notices');
    const input = { leadId, key: `test:notice:${leadId}`, policyVersion: 1, userId: rep.id, kind: 'assignment' as const };
    const result = await asAttempt(1, activities.notifyStaff, input);
    expect(result.deferredUntil).toBeNull();
    expect(result.messages.map((m) => [m.channel, m.status]).sort()).toEqual([
      ['email', 'sent'],
      ['sms', 'sent'],
    ]);
    await asAttempt(2, activities.notifyStaff, input);

    const [text] = tw.accepted(rep.phone!);
    expect(tw.sendsTo(rep.phone!)).toHaveLength(1);
    expect(text!.body).toMatch(/^Leadline: New lead for you: Noticed Lead \(\+1202555\d{4}, noticed\.\d+@example\.com, from import\)\. First contact due .+\. https:\/\/leadline\.example\.com\/leads\//);
    expect(sg.sendsTo(rep.email)).toHaveLength(1);
    const [mail] = sg.acceptedTo(rep.email);
    expect(mail!.mail.subject).toBe('New lead: Noticed Lead');
    expect(mail!.mail.headers).toBeUndefined();
    expect((await eventsOf(leadId, 'message_sent')).map((e) => [e.data.channel, e.data.recipientId, e.data.notice]).sort()).toEqual([
      ['email', rep.id, 'assignment'],
      ['sms', rep.id, 'assignment'],
    ]);
  }, 30_000);

  it('waits for the recipient’s working hours unless the policy says notices go at once', async () => {
    const { team, rep, leadId, activities } = await repWithChannels('OffDuty');
    // The rep's own hours: every day, but today is a day off.
    const today = DateTime.now().setZone('America/New_York').toISODate()!;
    const rows = em();
    (await rows.findOneOrFail(UserSchema, rep.id)).workingHours = { ...allHours, holidays: [today] };
    await rows.flush();

    const input = { leadId, key: `test:remind:${leadId}`, policyVersion: 1, userId: rep.id, kind: 'remind_assignee' as const };
    const deferred = await asAttempt(1, activities.notifyStaff, input);
    expect(deferred).toMatchObject({ messages: [] });
    expect(deferred.deferredUntil).toBe(DateTime.fromISO(today, { zone: 'America/New_York' }).plus({ days: 1 }).toUTC().toISO({ suppressMilliseconds: false }));
    expect(tw.sendsTo(rep.phone!)).toHaveLength(0);

    await h.setPolicy(`OffDuty`, { ...still, noticesRespectWorkingHours: false });
    const version = (await em().findOneOrFail(LeadSchema, leadId, { populate: ['team.policy'] })).team.policy!.currentVersion;
    // No user named: a manager notice goes to the lead's team manager.
    const sent = await asAttempt(1, activities.notifyStaff, { ...input, key: `test:manager:${leadId}`, policyVersion: version, userId: null, kind: 'notify_manager' });
    // The manager has no phone: email only, and at once.
    expect(sent.messages.map((m) => [m.channel, m.status])).toEqual([['email', 'sent']]);
    expect((await eventsOf(leadId, 'staff_notified')).map((e) => [e.data.userId, e.data.notice])).toEqual([[team.managerId, 'notify_manager']]);
    expect(sg.acceptedTo(team.managerEmail)[0]!.mail.subject).toBe('Escalation: Noticed Lead missed its first-contact SLA');
  }, 30_000);
});

describe('sandbox mode', () => {
  it('records a message as sent and sends nothing when no provider is configured', async () => {
    const sandbox = createActivities({ orm: h.orm, providers: providerSettings({ JWT_SECRET: 'sandbox-secret-for-the-messaging-tests' }) });
    const team = await h.createTeam('Sandbox', [{}], still);
    const rows = em();
    const leadRow = rows.create(LeadSchema, { name: 'Sandy Box', team: team.id, phone: '+12025550120', email: 'sandy@example.com', source: 'test' });
    await rows.flush();
    const before = tw.requests.length + sg.requests.length;
    for (const channel of ['sms', 'email'] as const) {
      const result = await asAttempt(1, sandbox.sendLeadMessage, { leadId: leadRow.id, key: `test:sandbox:${channel}`, policyVersion: 1, channel, template: `followup_${channel}` });
      expect(result.status).toBe('sent');
    }
    const rowsSent: Message[] = await em().find(MessageSchema, { lead: leadRow.id }, { orderBy: { channel: 'asc' } });
    expect(rowsSent.map((m) => [m.channel, m.status, m.from, m.providerId])).toEqual([
      ['email', 'sent', 'leads@leadline.test', null],
      ['sms', 'sent', '+15005550006', null],
    ]);
    expect(tw.requests.length + sg.requests.length).toBe(before);
  });
});
