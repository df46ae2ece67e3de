/**
 * `npm run rehearse -- <ref>`: a deploy of the working tree rehearsed on this machine against leads
 * running on `ref` (see README, "Rehearsing a deploy"). Exit code 0: PASS; 1: FAIL, do not deploy;
 * 2: the rehearsal could not be made.
 *
 *   npm run rehearse -- 882cac6 [--seed 7] [--leads 30] [--step 3] [--workers 2] [--json report.json]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { randomSeed } from './chaos/rng.js';
import { formatReport, rehearse, RehearsalNotMade } from './rehearse/run.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seed: { type: 'string' },
    leads: { type: 'string' },
    step: { type: 'string' },
    workers: { type: 'string' },
    json: { type: 'string' },
  },
});

const number = (raw: string | undefined, fallback: number, min: number) => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`not a number of at least ${min}: ${raw}`);
  return value;
};

try {
  const [ref, ...extra] = positionals;
  if (!ref || extra.length) throw new Error('usage: npm run rehearse -- <git ref> [--seed N] [--leads 30] [--step 3] [--workers 2] [--json file]');
  const report = await rehearse({
    ref,
    seed: number(values.seed, randomSeed(), 0),
    // Fewer than 13 leaves a role without its lead (see scene.ts).
    leads: Math.round(number(values.leads, 30, 13)),
    stepSeconds: number(values.step, 3, 1),
    workers: Math.round(number(values.workers, 2, 1)),
  });
  console.log(formatReport(report));
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
  process.exit(report.verdict === 'PASS' ? 0 : 1);
} catch (error) {
  // A phase never reached or a service that would not start is said plainly; anything else with its stack.
  console.error(`rehearsal could not be made: ${error instanceof RehearsalNotMade ? error.message : error instanceof Error ? error.stack : String(error)}`);
  process.exit(2);
}
