import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { patches } from '../workflows/patches.js';
import { historiesDir, historyVersions } from './histories.js';
import { testServices } from './services.js';

type History = temporal.api.history.v1.IHistory;

const folders = readdirSync(historiesDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();
const fixtures = folders.flatMap((folder) =>
  readdirSync(new URL(`${folder}/`, historiesDir))
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => `${folder}/${name}`),
);
const load = (fixture: string): History => historyFromJSON(JSON.parse(readFileSync(new URL(fixture, historiesDir), 'utf8')));

/** The ids of the `patched()` markers a history recorded. */
function patchIds(history: History): string[] {
  return (history.events ?? []).flatMap((event) => {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') return [];
    return Object.values(marker.details ?? {}).flatMap((payloads) =>
      (payloads.payloads ?? []).map((payload) => (JSON.parse(Buffer.from(payload.data ?? []).toString('utf8')) as { id: string }).id),
    );
  });
}

/** What the newest version must have on file: one run through each path a deploy could break. */
const representativeRuns = [
  'converted',
  'lost',
  'queued-then-assigned',
  'escalation-chain',
  'pause-resume',
  'reply-pauses-outreach',
  'policy-change',
  'continued-as-new',
  'cadence-unresponsive',
  'contacted-before-assignment',
  'contact-after-deadline',
];

/**
 * Histories recorded by every workflow version (test/fixtures/histories/<version>/, listed in
 * versions.json), replayed against today's workflow code: a change that would break a lead already
 * running on any version fails here. Record a new version with `RECORD_HISTORIES=v<N> npm run test:jest
 * -- test/workflow.test.ts test/lead-lifecycle.test.ts test/deadline.test.ts`; never re-record an old one.
 */
describe('replaying stored lead histories', () => {
  it('lists every version folder in versions.json, and each listed folder is on file', () => {
    expect(folders).toEqual(historyVersions.map((version) => version.folder).sort());
  });

  it('has a run through each representative path recorded by the newest version', () => {
    const newest = historyVersions.at(-1)!.folder;
    const names = fixtures.filter((fixture) => fixture.startsWith(`${newest}/`)).map((fixture) => fixture.slice(newest.length + 1).replace(/\.json$/, ''));
    expect(names).toEqual(expect.arrayContaining(representativeRuns));
  });

  it('has every patched() id of the workflow in at least one recorded history', () => {
    const recorded = new Set(fixtures.flatMap((fixture) => patchIds(load(fixture))));
    const missing = Object.values(patches).filter((id) => !recorded.has(id));
    expect(missing).toEqual([]);
  });

  it('finds no patched() call in workflows/ that does not take its id from workflows/patches.ts', () => {
    const workflowsDir = new URL('../workflows/', import.meta.url);
    const stray = readdirSync(workflowsDir)
      .filter((name) => name.endsWith('.ts'))
      .flatMap((name) => [...readFileSync(new URL(name, workflowsDir), 'utf8').matchAll(/\b(?:patched|deprecatePatch)\((?!patches\.)[^)]+\)/g)].map((match) => `${name}: ${match[0]}`));
    expect(stray).toEqual([]);
  });

  it.each(fixtures)('replays %s without a nondeterminism error', async (fixture) => {
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: testServices().workflowBundlePath } }, load(fixture), fixture.replace(/\.json$/, '')),
    ).resolves.toBeUndefined();
  });
});
