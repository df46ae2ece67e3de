/**
 * Where a process spent its CPU: `node --import tsx scripts/bench/profile.ts <file.cpuprofile>...`
 * sums a V8 CPU profile (written by a bench run with BENCH_PROFILE=<folder>) by package and by
 * function, self time only, so the top lines are where the time went.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** `node_modules/@scope/name/...` → `@scope/name`; our own files by folder; Node's by `node:`. */
function owner(url: string): string {
  if (!url) return '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + 'node_modules/'.length).split('/');
    return first?.startsWith('@') ? `${first}/${second}` : (first ?? url);
  }
  if (url.startsWith('node:')) return 'node';
  const own = /\/(activities|api|db|domain|messaging|workflows|scripts)\//.exec(url);
  return own ? `leadline ${own[1]}/` : url;
}

export function summarise(path: string, top = 12): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  let total = 0;
  let idle = 0;
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, micros] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const who = owner(url);
    // Idle is waiting, not work: left out of the shares.
    if (functionName === '(idle)') {
      idle += micros;
      continue;
    }
    total += micros;
    if (functionName === '(program)' || functionName === '(garbage collector)') {
      byOwner.set(functionName, (byOwner.get(functionName) ?? 0) + micros);
      continue;
    }
    byOwner.set(who, (byOwner.get(who) ?? 0) + micros);
    const key = `${functionName || '(anonymous)'} ${who === url ? url : `${who} ${basename(url)}:${lineNumber + 1}`}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
  }
  const pct = (micros: number) => `${((100 * micros) / total).toFixed(1).padStart(5)}%`;
  const rows = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => `  ${pct(micros)}  ${name}`);
  return [`${path}: ${(total / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle`, ' by package (self time):', ...rows(byOwner), ' by function (self time):', ...rows(byFunction)].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const path of process.argv.slice(2)) console.log(summarise(path, 20));
}
