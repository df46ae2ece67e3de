import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { leadWorkflowId } from '../domain/lead.js';
import { findTemporalBinary } from '../scripts/services/temporal.js';
import { testServices } from './services.js';

/** One folder per workflow version, each a set of histories recorded with that version's code. */
export const historiesDir = new URL('./fixtures/histories/', import.meta.url);

export interface HistoryVersion {
  folder: string;
  recorded: string;
  /** The commit whose workflow code wrote them. */
  code: string;
  about: string;
}

/** The versions on file, oldest first. A folder not listed here fails the replay test. */
export const historyVersions: HistoryVersion[] = JSON.parse(readFileSync(new URL('versions.json', historiesDir), 'utf8'));

/**
 * With `RECORD_HISTORIES=<folder>` (a new version folder, such as v3), stores the workflow history of a
 * representative run as a replay fixture (see replay.test.ts), in the JSON the Temporal CLI and UI
 * export. Recorded histories are history: a listed folder or an existing file is never written again.
 */
export function saveHistory(leadId: string, name: string, runId?: string): void {
  const folder = process.env.RECORD_HISTORIES;
  if (!folder) return;
  if (!/^v\d+$/.test(folder)) throw new Error(`RECORD_HISTORIES names the new version folder to record into (v${historyVersions.length + 1}), not "${folder}"`);
  if (historyVersions.some((version) => version.folder === folder)) throw new Error(`${folder} is a recorded version; record into a new folder instead`);
  const file = new URL(`${folder}/${name}.json`, historiesDir);
  if (existsSync(file)) throw new Error(`${folder}/${name}.json is on file already`);
  const temporal = findTemporalBinary();
  if (!temporal) throw new Error('Recording histories needs the temporal CLI (npm run tools)');
  const json = execFileSync(
    temporal,
    ['workflow', 'show', '--workflow-id', leadWorkflowId(leadId), ...(runId ? ['--run-id', runId] : []), '--address', testServices().temporalAddress, '--output', 'json'],
    { encoding: 'utf8' },
  );
  mkdirSync(new URL(`${folder}/`, historiesDir), { recursive: true });
  writeFileSync(file, json);
}
