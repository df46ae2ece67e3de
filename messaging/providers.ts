import { Client as SendgridClient } from '@sendgrid/client';
import { MailService } from '@sendgrid/mail';
import twilio from 'twilio';
import type { ProviderSettings, SendgridSettings, TwilioSettings } from './settings.js';
import type { Channel } from './templates.js';

export interface Outgoing {
  /** The Message row's id; SendGrid carries it back in its events as a custom arg. */
  messageId: string;
  leadId: string | null;
  to: string;
  subject: string;
  body: string;
  headers: Record<string, string>;
}

/**
 * One channel's sender. `findSent` answers whether an earlier attempt's message reached the provider
 * after all: its id, null for "no", or undefined where the provider cannot tell (SendGrid).
 */
export interface Provider {
  readonly name: 'twilio' | 'sendgrid' | 'sandbox';
  /** Shown as the sender on the Message row. */
  readonly from: string;
  send(message: Outgoing): Promise<{ providerId: string | null }>;
  findSent(message: Outgoing, since: Date): Promise<string | null | undefined>;
}

/**
 * The provider answered and did not take the message. `permanent` means sending it again cannot help
 * (an invalid number, an unsubscribed recipient, a bad request); otherwise a later attempt may succeed.
 * Any other error (a timeout, a dropped connection) leaves open whether the provider took it.
 */
export class ProviderRejected extends Error {
  constructor(
    readonly provider: Provider['name'],
    readonly status: number,
    readonly code: string | number | null,
    message: string,
    readonly permanent: boolean,
    /** The provider says the recipient has opted out (Twilio 21610). */
    readonly optedOut = false,
  ) {
    super(message);
    this.name = 'ProviderRejected';
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** 4xx are about this request and come back the same; 408 and 429 are about the moment. */
const isPermanent = (status: number) => status >= 400 && status < 500 && status !== 408 && status !== 429;

/** Twilio error codes that say the recipient opted out of messages from this sender. */
const TWILIO_UNSUBSCRIBED = 21610;

/** The SDK's own HTTP client, sending to another base URL: the way Twilio documents custom HTTP clients. */
class RebasedRequestClient extends twilio.RequestClient {
  constructor(
    private readonly baseUrl: string,
    options: ConstructorParameters<typeof twilio.RequestClient>[0],
  ) {
    super(options);
  }

  override request<TData>(options: Parameters<twilio.RequestClient['request']>[0] & { data?: TData }) {
    const original = new URL(options.uri);
    return super.request<TData>({ ...options, uri: new URL(`${original.pathname}${original.search}`, this.baseUrl).href });
  }
}

export function twilioProvider(settings: TwilioSettings, publicUrl: string, timeoutMs = DEFAULT_TIMEOUT_MS): Provider {
  const httpClient = settings.apiBaseUrl ? new RebasedRequestClient(settings.apiBaseUrl, { timeout: timeoutMs }) : new twilio.RequestClient({ timeout: timeoutMs });
  const client = twilio(settings.accountSid, settings.authToken, { httpClient });
  const sender = settings.from.startsWith('MG') ? { messagingServiceSid: settings.from } : { from: settings.from };
  return {
    name: 'twilio',
    from: settings.from,
    async send({ messageId, to, body }) {
      // Our id rides in the callback URL (which Twilio signs), so a status that beats our own write of the SID still finds its row.
      const statusCallback = `${publicUrl}/webhooks/twilio/status?messageId=${messageId}`;
      try {
        const message = await client.messages.create({ to, body, ...sender, statusCallback });
        return { providerId: message.sid };
      } catch (error) {
        if (error instanceof twilio.RestException) {
          const code = error.code ?? null;
          const text = `Twilio ${code ?? error.status}: ${error.message}`;
          throw new ProviderRejected('twilio', error.status, code, text, isPermanent(error.status), code === TWILIO_UNSUBSCRIBED);
        }
        throw error;
      }
    },
    // Twilio has no idempotency key for sending; its message log is the record of what it took.
    // The newest messages to the number, with this body, from this sender, since the row was written.
    async findSent({ to, body }, since) {
      const page = await client.messages.page({ to, pageSize: 50 });
      const match = page.instances.find(
        (m) =>
          m.direction !== 'inbound' &&
          (m.body ?? '').startsWith(body) &&
          (sender.from ? m.from === sender.from : m.messagingServiceSid === sender.messagingServiceSid) &&
          m.dateCreated.getTime() >= since.getTime() - 60_000,
      );
      return match?.sid ?? null;
    },
  };
}

export function sendgridProvider(settings: SendgridSettings, timeoutMs = DEFAULT_TIMEOUT_MS): Provider {
  const client = new SendgridClient();
  client.setApiKey(settings.apiKey);
  // After the key: setting the key resets the base URL to SendGrid's.
  if (settings.apiBaseUrl) client.setDefaultRequest('baseUrl', settings.apiBaseUrl);
  const mail = new MailService();
  mail.setClient(client);
  mail.setTimeout(timeoutMs);
  const from = settings.fromName ? { email: settings.from, name: settings.fromName } : { email: settings.from };
  return {
    name: 'sendgrid',
    from: settings.from,
    async send({ messageId, leadId, to, subject, body, headers }) {
      try {
        const [response] = await mail.send({
          to,
          from,
          subject,
          text: body,
          headers,
          customArgs: { messageId, ...(leadId ? { leadId } : {}) },
        });
        const id = (response.headers as Record<string, string | undefined>)['x-message-id'];
        return { providerId: id ?? null };
      } catch (error) {
        const failure = error as { code?: unknown; response?: { body?: { errors?: { message?: string }[] } } };
        if (typeof failure.code === 'number' && failure.response) {
          const reasons = failure.response.body?.errors?.map((e) => e.message).filter(Boolean).join('; ');
          throw new ProviderRejected('sendgrid', failure.code, null, `SendGrid ${failure.code}: ${reasons || (error as Error).message}`, isPermanent(failure.code));
        }
        throw error;
      }
    },
    // SendGrid has no idempotency key and no lookup by our id short of the paid activity API.
    async findSent() {
      return undefined;
    },
  };
}

/** The sender shown on outbound messages in sandbox mode. */
export const SANDBOX_FROM = { sms: '+15005550006', email: 'leads@leadline.test' } as const;

function sandboxProvider(channel: Channel): Provider {
  return {
    name: 'sandbox',
    from: SANDBOX_FROM[channel],
    // Nothing leaves the machine: the Message row is the whole effect.
    async send() {
      return { providerId: null };
    },
    async findSent() {
      return null;
    },
  };
}

export interface Providers {
  sms: Provider;
  email: Provider;
}

export function createProviders(settings: ProviderSettings): Providers {
  return {
    sms: settings.twilio ? twilioProvider(settings.twilio, settings.publicUrl, settings.requestTimeoutMs) : sandboxProvider('sms'),
    email: settings.sendgrid ? sendgridProvider(settings.sendgrid, settings.requestTimeoutMs) : sandboxProvider('email'),
  };
}
