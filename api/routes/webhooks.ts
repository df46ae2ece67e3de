import { EventWebhook, EventWebhookHeader } from '@sendgrid/eventwebhook';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import twilio from 'twilio';
import { z } from 'zod';
import { readConfig } from '../../config.js';
import { applyEmailEvent, applySmsStatus, receiveSms, unsubscribeEmail } from '../../messaging/inbound.js';
import { providerSettings } from '../../messaging/settings.js';
import { SMS_HELP_TEXT } from '../../messaging/templates.js';
import { readUnsubscribeToken } from '../../messaging/unsubscribe.js';
import type { AppDeps } from '../deps.js';
import { AppError } from '../errors.js';

const unsigned = () => new AppError(403, 'invalid_signature', 'The request is not signed by the provider');

const inboundSms = z.object({
  MessageSid: z.string().min(1).max(100),
  From: z.string().min(1).max(254),
  To: z.string().min(1).max(254),
  Body: z.string().max(10_000).default(''),
});

const smsStatus = z.object({
  MessageSid: z.string().min(1).max(100),
  MessageStatus: z.string().min(1).max(30),
  ErrorCode: z.string().max(10).optional(),
});

const emailEvents = z
  .array(
    z.looseObject({
      sg_event_id: z.string().min(1).max(200),
      event: z.string().max(50),
      email: z.string().max(254).default(''),
      sg_message_id: z.string().max(200).optional(),
      messageId: z.uuid().optional().catch(undefined),
      reason: z.string().max(2_000).optional(),
    }),
  )
  .max(10_000);

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;

/**
 * Provider webhooks (Twilio form posts, SendGrid's signed JSON) and one-click unsubscribe. Mounted
 * outside `/api` and before the app's JSON parser: each route reads its body its own way, and the
 * SendGrid signature covers the raw bytes. Nothing is done for a request whose signature does not check.
 */
export function webhookRoutes({ orm, temporal, providers }: Pick<AppDeps, 'orm' | 'temporal' | 'providers'>): Router {
  const settings = providers ?? providerSettings(readConfig());
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '64kb' });
  const raw = express.raw({ type: () => true, limit: '5mb' });

  /** Twilio signs the full URL it posted to (ours as the public sees it) and the form fields. */
  const twilioSigned = (req: Request, _res: Response, next: NextFunction) => {
    const signature = req.header('X-Twilio-Signature');
    const token = settings.twilio?.authToken;
    const params = (req.body ?? {}) as Record<string, string>;
    if (!token || !signature || !twilio.validateRequest(token, signature, `${settings.publicUrl}${req.originalUrl}`, params)) throw unsigned();
    next();
  };

  const twiml = (res: Response, reply?: string) => {
    const response = new twilio.twiml.MessagingResponse();
    if (reply) response.message(reply);
    res.type('text/xml').send(response.toString());
  };

  router.post('/webhooks/twilio/sms', form, twilioSigned, async (req, res) => {
    const sms = inboundSms.parse(req.body);
    const { keyword } = await receiveSms(orm, temporal, { sid: sms.MessageSid, from: sms.From, to: sms.To, body: sms.Body });
    // Twilio's own opt-out handling confirms STOP and START; HELP gets our answer.
    twiml(res, keyword === 'help' ? SMS_HELP_TEXT : undefined);
  });

  router.post('/webhooks/twilio/status', form, twilioSigned, async (req, res) => {
    const update = smsStatus.parse(req.body);
    const messageId = z.uuid().safeParse(req.query.messageId);
    await applySmsStatus(orm, { sid: update.MessageSid, status: update.MessageStatus, errorCode: update.ErrorCode ?? null, messageId: messageId.success ? messageId.data : null });
    res.status(204).end();
  });

  router.post('/webhooks/sendgrid/events', raw, async (req, res) => {
    const key = settings.sendgrid?.webhookPublicKey;
    const signature = req.header(EventWebhookHeader.SIGNATURE());
    const timestamp = req.header(EventWebhookHeader.TIMESTAMP());
    const payload = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!key || !signature || !timestamp) throw unsigned();
    const verifier = new EventWebhook();
    let valid = false;
    try {
      valid = verifier.verifySignature(verifier.convertPublicKeyToECDSA(key), payload, signature, timestamp);
    } catch {
      // A signature that is not even DER is as bad as a wrong one.
    }
    if (!valid) throw unsigned();
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString('utf8'));
    } catch {
      throw new AppError(400, 'invalid_json', 'The request body is not valid JSON');
    }
    for (const event of emailEvents.parse(parsed)) {
      await applyEmailEvent(orm, {
        eventId: event.sg_event_id,
        event: event.event,
        email: event.email,
        messageId: event.messageId ?? null,
        sgMessageId: event.sg_message_id ?? null,
        reason: event.reason ?? null,
      });
    }
    res.status(204).end();
  });

  const tokenEmail = (req: Request) => {
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    const email = readUnsubscribeToken(settings.unsubscribeSecret, token);
    if (!email) throw new AppError(403, 'invalid_token', 'This unsubscribe link is not valid');
    return email;
  };

  // Opening the link only asks: mail scanners follow links, and must not unsubscribe anyone.
  router.get('/unsubscribe', (req, res) => {
    const email = tokenEmail(req);
    const action = `/unsubscribe?token=${encodeURIComponent(String(req.query.token))}`;
    res.type('html').send(page('Unsubscribe', `<p>Stop emails from us to ${escapeHtml(email)}?</p><form method="post" action="${escapeHtml(action)}"><button type="submit">Unsubscribe</button></form>`));
  });

  // RFC 8058 one-click: the mail client posts `List-Unsubscribe=One-Click`; the token says who.
  router.post('/unsubscribe', form, async (req, res) => {
    const email = tokenEmail(req);
    await unsubscribeEmail(orm, email);
    res.type('html').send(page('Unsubscribed', `<p>${escapeHtml(email)} will get no more emails from us.</p>`));
  });

  return router;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
