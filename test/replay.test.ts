import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { historiesDir } from './histories.js';
import { testServices } from './services.js';

const fixtures = readdirSync(historiesDir).filter((name) => name.endsWith('.json')).sort();

/**
 * Histories of representative runs, recorded with `RECORD_HISTORIES=1 npm run test:jest -- test/workflow.test.ts`,
 * replayed against today's workflow code: a change that would break leads already running fails here.
 */
describe('replaying stored lead histories', () => {
  it('has the representative runs on file', () => {
    expect(fixtures).toEqual(
      expect.arrayContaining(['cadence-unresponsive.json', 'escalation-chain.json', 'pause-resume.json', 'policy-change.json', 'queued-then-assigned.json', 'reply-pauses-outreach.json']),
    );
  });

  it.each(fixtures)('replays %s without a nondeterminism error', async (name) => {
    const history = historyFromJSON(JSON.parse(readFileSync(new URL(name, historiesDir), 'utf8')));
    await expect(
      Worker.runReplayHistory({ workflowBundle: { codePath: testServices().workflowBundlePath } }, history, name.replace(/\.json$/, '')),
    ).resolves.toBeUndefined();
  });
});
