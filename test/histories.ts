import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { leadWorkflowId } from '../domain/lead.js';
import { findTemporalBinary } from '../scripts/services/temporal.js';
import { testServices } from './services.js';

export const historiesDir = new URL('./fixtures/histories/', import.meta.url);

/**
 * With `RECORD_HISTORIES=1`, stores the workflow history of a representative run as a replay
 * fixture (see replay.test.ts), in the JSON the Temporal CLI and UI export. Recorded on purpose,
 * after a deliberate workflow change, never by default.
 */
export function saveHistory(leadId: string, name: string): void {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const temporal = findTemporalBinary();
  if (!temporal) throw new Error('Recording histories needs the temporal CLI (npm run tools)');
  const json = execFileSync(temporal, ['workflow', 'show', '--workflow-id', leadWorkflowId(leadId), '--address', testServices().temporalAddress, '--output', 'json'], {
    encoding: 'utf8',
  });
  writeFileSync(new URL(`${name}.json`, historiesDir), json);
}
