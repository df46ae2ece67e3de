import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

/**
 * The zone for countries that span several, chosen as the most populous one (tzdata's zone.tab lists
 * it first for most). Countries with a single zone need no entry: the runtime's ICU data names it.
 * Every multi-zone country libphonenumber knows is listed, plus the few regions ICU has no zone for.
 */
export const representativeZones: Partial<Record<CountryCode, string>> = {
  AC: 'Atlantic/St_Helena',
  AR: 'America/Argentina/Buenos_Aires',
  AU: 'Australia/Sydney',
  BR: 'America/Sao_Paulo',
  CA: 'America/Toronto',
  CD: 'Africa/Kinshasa',
  CL: 'America/Santiago',
  CN: 'Asia/Shanghai',
  CY: 'Asia/Nicosia',
  DE: 'Europe/Berlin',
  EC: 'America/Guayaquil',
  ES: 'Europe/Madrid',
  FM: 'Pacific/Pohnpei',
  GL: 'America/Nuuk',
  ID: 'Asia/Jakarta',
  KI: 'Pacific/Tarawa',
  KZ: 'Asia/Almaty',
  MH: 'Pacific/Majuro',
  MN: 'Asia/Ulaanbaatar',
  MX: 'America/Mexico_City',
  MY: 'Asia/Kuala_Lumpur',
  NZ: 'Pacific/Auckland',
  PF: 'Pacific/Tahiti',
  PG: 'Pacific/Port_Moresby',
  PS: 'Asia/Hebron',
  PT: 'Europe/Lisbon',
  RU: 'Europe/Moscow',
  TA: 'Atlantic/St_Helena',
  UA: 'Europe/Kyiv',
  US: 'America/New_York',
  UZ: 'Asia/Tashkent',
  XK: 'Europe/Belgrade',
};

/** The IANA zones ICU lists for a region (`Intl.Locale#getTimeZones`, formerly the `timeZones` getter). */
function zonesOf(country: CountryCode): string[] {
  const locale = new Intl.Locale(`und-${country}`) as Intl.Locale & { getTimeZones?: () => string[]; timeZones?: string[] };
  return locale.getTimeZones?.() ?? locale.timeZones ?? [];
}

/** One spelling per zone (`America/Indianapolis` and `America/Indiana/Indianapolis` compare equal). */
function canonical(zone: string): string {
  try {
    return new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return zone;
  }
}

/**
 * Where a phone number most likely rings, from its country: the team's own zone when the country
 * has it (a team sells mostly near itself), else the country's single or representative zone.
 * Null when the number is not a valid one or its country has no zone we can name.
 */
export function phoneTimezone(phone: string, teamTimezone: string): string | null {
  const country = parsePhoneNumberFromString(phone)?.country;
  if (!country) return null;
  const zones = zonesOf(country);
  const team = canonical(teamTimezone);
  if (zones.some((zone) => canonical(zone) === team)) return teamTimezone;
  return representativeZones[country] ?? (zones.length === 1 ? zones[0]! : null);
}

/** Where quiet hours count for a lead: its own timezone, else its phone number's, else its team's. */
export function leadTimezone(lead: { timezone?: string | null; phone?: string | null; team: { timezone: string } }): string {
  return lead.timezone ?? (lead.phone ? phoneTimezone(lead.phone, lead.team.timezone) : null) ?? lead.team.timezone;
}
