import { describe, expect, it } from '@jest/globals';
import { durationMs, durationSchema } from './duration.js';

describe('policy durations', () => {
  it('reads seconds, minutes, hours and days', () => {
    expect(durationMs('90s')).toBe(90_000);
    expect(durationMs('15m')).toBe(900_000);
    expect(durationMs('4h')).toBe(14_400_000);
    expect(durationMs('2d')).toBe(172_800_000);
  });

  it.each(['', '15', 'm', '1.5h', '-5m', '5 m', '5w', '15M'])('refuses %p', (text) => {
    expect(() => durationMs(text)).toThrow(RangeError);
    expect(durationSchema.safeParse(text).success).toBe(false);
  });
});
