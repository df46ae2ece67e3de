import type { Config } from '../config.js';

/** Twilio: the account, the sender, and (for tests and proxies only) where the SDK's requests go. */
export interface TwilioSettings {
  accountSid: string;
  /** Authenticates API calls and signs the webhooks Twilio sends us. */
  authToken: string;
  /** A number in E.164, or a Messaging Service SID (`MG…`). */
  from: string;
  /** Replaces `https://api.twilio.com` (a local fake in tests). */
  apiBaseUrl?: string;
}

/** SendGrid: the key, the verified sender, the event webhook's key, and (tests only) the API's base URL. */
export interface SendgridSettings {
  apiKey: string;
  from: string;
  fromName?: string;
  /** Base64 ECDSA public key of the signed event webhook; without it every event post is refused. */
  webhookPublicKey: string | null;
  /** Replaces `https://api.sendgrid.com` (a local fake in tests). */
  apiBaseUrl?: string;
}

/**
 * Everything the senders, the webhooks and the unsubscribe links need. A provider that is null runs
 * in sandbox mode: its messages are recorded as sent and nothing leaves the machine.
 */
export interface ProviderSettings {
  /** This service's public origin (and any path prefix a proxy strips), without a trailing slash. */
  publicUrl: string;
  /** Signs the one-click unsubscribe links in emails. */
  unsubscribeSecret: string;
  twilio: TwilioSettings | null;
  sendgrid: SendgridSettings | null;
  /** How long one provider call may take; the send activity's own timeout is longer. */
  requestTimeoutMs?: number;
}

export type ProviderConfig = Pick<
  Config,
  | 'PORT'
  | 'JWT_SECRET'
  | 'PUBLIC_URL'
  | 'TWILIO_ACCOUNT_SID'
  | 'TWILIO_AUTH_TOKEN'
  | 'TWILIO_FROM'
  | 'TWILIO_API_BASE_URL'
  | 'SENDGRID_API_KEY'
  | 'SENDGRID_FROM'
  | 'SENDGRID_FROM_NAME'
  | 'SENDGRID_API_BASE_URL'
  | 'SENDGRID_WEBHOOK_PUBLIC_KEY'
>;

/** The providers as configured; what is not configured is sandboxed. */
export function providerSettings(config: Partial<ProviderConfig> & Pick<Config, 'JWT_SECRET'>): ProviderSettings {
  const { TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM, SENDGRID_API_KEY, SENDGRID_FROM } = config;
  return {
    publicUrl: (config.PUBLIC_URL ?? `http://localhost:${config.PORT ?? 3000}`).replace(/\/+$/, ''),
    unsubscribeSecret: config.JWT_SECRET,
    twilio:
      TWILIO_ACCOUNT_SID && TWILIO_AUTH_TOKEN && TWILIO_FROM
        ? {
            accountSid: TWILIO_ACCOUNT_SID,
            authToken: TWILIO_AUTH_TOKEN,
            from: TWILIO_FROM,
            ...(config.TWILIO_API_BASE_URL ? { apiBaseUrl: config.TWILIO_API_BASE_URL } : {}),
          }
        : null,
    sendgrid:
      SENDGRID_API_KEY && SENDGRID_FROM
        ? {
            apiKey: SENDGRID_API_KEY,
            from: SENDGRID_FROM,
            ...(config.SENDGRID_FROM_NAME ? { fromName: config.SENDGRID_FROM_NAME } : {}),
            webhookPublicKey: config.SENDGRID_WEBHOOK_PUBLIC_KEY ?? null,
            ...(config.SENDGRID_API_BASE_URL ? { apiBaseUrl: config.SENDGRID_API_BASE_URL } : {}),
          }
        : null,
  };
}

/** What the worker and the app use when nobody configured anything: both providers sandboxed. */
export const sandboxProviders = (secret: string): ProviderSettings => providerSettings({ JWT_SECRET: secret });
