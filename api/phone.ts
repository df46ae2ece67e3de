import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { z } from 'zod';

/** A phone number as people type it, stored in E.164 (`+12025550143`); numbers without a country code are read as US. */
export const phoneNumber = z
  .string()
  .trim()
  .max(32)
  .transform((value, ctx) => {
    const parsed = parsePhoneNumberFromString(value, 'US');
    if (!parsed?.isValid()) {
      ctx.addIssue({ code: 'custom', message: 'must be a valid phone number, such as +1 202 555 0143' });
      return z.NEVER;
    }
    return parsed.number;
  });
