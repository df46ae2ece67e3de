import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * One-click unsubscribe links (RFC 8058): the token is the address and an HMAC of it. It does not
 * expire, since an unsubscribe link has to keep working as long as the email may be read. The key is
 * derived from the secret for this one purpose, so a token is never a valid session signature.
 */
const purposeKey = (secret: string) => createHmac('sha256', secret).update('leadline unsubscribe v1').digest();

const mac = (secret: string, payload: string) => createHmac('sha256', purposeKey(secret)).update(payload).digest();

export function unsubscribeToken(secret: string, email: string): string {
  const payload = Buffer.from(email.trim().toLowerCase()).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** The email address a token was made for, or null when it was not made with this secret. */
export function readUnsubscribeToken(secret: string, token: string): string | null {
  const [payload, signature, ...rest] = token.split('.');
  if (!payload || !signature || rest.length > 0) return null;
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(secret, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  const email = Buffer.from(payload, 'base64url').toString('utf8');
  return email.includes('@') ? email : null;
}

export function unsubscribeUrl(publicUrl: string, secret: string, email: string): string {
  return `${publicUrl}/unsubscribe?token=${unsubscribeToken(secret, email)}`;
}

/** The headers that let mail clients offer "Unsubscribe" and do it with one POST (RFC 2369, RFC 8058). */
export function unsubscribeHeaders(url: string): Record<string, string> {
  return { 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
}
