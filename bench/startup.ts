// `npm run bench -- --startup`: how long rnnc takes to start, as wall-clock
// seconds of separate processes and as a ratio against `node -e 0` on the
// same machine (what any Node program pays), median of N runs each. The
// targets of issue 13: `rnnc --version` and `--help` under 0.2 s, `rnnc
// check` on an example under 0.5 s. Measured here, never asserted in a
// test: timings of separate processes vary with the machine's load.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface StartupResult {
  readonly command: string;
  readonly medianSeconds: number;
  readonly ratioToNode: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function timeProcess(args: readonly string[], cwd: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd, stdio: 'ignore' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status}`);
  return seconds;
}

/** Times `node -e 0` and each rnnc command in its own process, `runs` times (interleaved, so drifts of load hit all alike). */
export function measureStartup(root: string, runs: number): StartupResult[] {
  const bin = join(root, 'dist', 'src', 'bin.js');
  const commands: [string, string[]][] = [
    ['node -e 0', ['-e', '0']],
    ['rnnc --version', [bin, '--version']],
    ['rnnc --help', [bin, '--help']],
    ['rnnc check examples/adding.rnn', [bin, 'check', 'examples/adding.rnn']],
  ];
  const times = commands.map((): number[] => []);
  for (let i = 0; i < runs; i++) commands.forEach(([, args], k) => times[k]!.push(timeProcess(args, root)));
  const node = median(times[0]!);
  return commands.map(([command], k) => ({ command, medianSeconds: median(times[k]!), ratioToNode: median(times[k]!) / node }));
}

export function startupTable(results: readonly StartupResult[]): string {
  return [
    '| command | median s | x `node -e 0` |',
    '|---|---|---|',
    ...results.map((r) => `| \`${r.command}\` | ${r.medianSeconds.toFixed(3)} | ${r.ratioToNode.toFixed(2)} |`),
  ].join('\n');
}
