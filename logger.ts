import { pino } from 'pino';

/** The one logger: JSON lines, level from LOG_LEVEL. */
export const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'leadline' } });
