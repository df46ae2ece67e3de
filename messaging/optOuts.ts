import type { EntityManager } from '@mikro-orm/core';
import { LeadSchema, OptOutSchema, type Lead, type OptOut } from '../db/entities.js';
import { recordLeadEvent } from '../db/timeline.js';
import type { Channel } from './templates.js';

/** Carrier-standard SMS keywords; the whole message, trimmed, in any case. */
const stopWords = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPT OUT']);
const startWords = new Set(['START', 'UNSTOP']);
const helpWords = new Set(['HELP']);

export type SmsKeyword = 'stop' | 'start' | 'help';

export function smsKeyword(body: string): SmsKeyword | null {
  const words = body.trim().replace(/\s+/g, ' ').toUpperCase();
  if (stopWords.has(words)) return 'stop';
  if (startWords.has(words)) return 'start';
  if (helpWords.has(words)) return 'help';
  return null;
}

/** E.164 phones are stored as they are; emails lower-cased, as on leads. */
export const normalAddress = (channel: Channel, address: string) => (channel === 'email' ? address.trim().toLowerCase() : address.trim());

const leadsAt = (em: EntityManager, channel: Channel, address: string) => em.find(LeadSchema, channel === 'sms' ? { phone: address } : { email: address });

/** True when nothing may be sent to this address on this channel (for a lead, its own consent flags count too). */
export async function isOptedOut(em: EntityManager, channel: Channel, address: string, lead?: Lead | null): Promise<boolean> {
  if (lead && (channel === 'sms' ? lead.smsOptOut : lead.emailOptOut)) return true;
  return (await em.count(OptOutSchema, { address: normalAddress(channel, address), channel })) > 0;
}

/**
 * Records an opt-out and marks every lead with that address, open or closed; the send activity checks
 * both at send time, so every running workflow stops messaging the address from its next send.
 * Each lead's timeline says so once. Returns the leads that changed.
 */
export async function recordOptOut(em: EntityManager, channel: Channel, rawAddress: string, source: OptOut['source'], data: Record<string, unknown> = {}): Promise<Lead[]> {
  const address = normalAddress(channel, rawAddress);
  if (!(await em.findOne(OptOutSchema, { address, channel }))) em.create(OptOutSchema, { address, channel, source });
  const changed: Lead[] = [];
  for (const lead of await leadsAt(em, channel, address)) {
    if (channel === 'sms' ? lead.smsOptOut : lead.emailOptOut) continue;
    if (channel === 'sms') lead.smsOptOut = true;
    else lead.emailOptOut = true;
    recordLeadEvent(em, lead, { type: 'opted_out', actorKind: 'system', data: { channel, address, source, ...data } });
    changed.push(lead);
  }
  return changed;
}

/** The address asked to hear from us again (SMS START): the opt-out and the leads' flags are cleared. */
export async function recordOptIn(em: EntityManager, channel: Channel, rawAddress: string, data: Record<string, unknown> = {}): Promise<Lead[]> {
  const address = normalAddress(channel, rawAddress);
  await em.nativeDelete(OptOutSchema, { address, channel });
  const changed: Lead[] = [];
  for (const lead of await leadsAt(em, channel, address)) {
    if (!(channel === 'sms' ? lead.smsOptOut : lead.emailOptOut)) continue;
    if (channel === 'sms') lead.smsOptOut = false;
    else lead.emailOptOut = false;
    recordLeadEvent(em, lead, { type: 'opted_in', actorKind: 'system', data: { channel, address, ...data } });
    changed.push(lead);
  }
  return changed;
}
