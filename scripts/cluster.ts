/**
 * `npm run cluster`: Leadline in its production shape on one machine, without Docker (what runs is in
 * scripts/cluster/supervisor.ts). Ctrl-C stops all of it, in order.
 *
 * The terminal sends Ctrl-C to its whole foreground process group. The system runs under a supervisor in a
 * group of its own instead, told to stop from here, so Postgres and the rest are not interrupted all at once.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const supervisor = spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL('./cluster/supervisor.ts', import.meta.url))], {
  detached: true,
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const forward = () => supervisor.connected && supervisor.send('stop');
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
process.on('SIGHUP', forward);
supervisor.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
