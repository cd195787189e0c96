// Scores the melody generator (examples/melody.rnn, section "A melody
// generator" of examples/README.md): decodes the 500 held-out primes with
// `rnnc translate --validation --json` (greedy, or with the flags given) and
// counts the output notes that lie in a scale fitting the whole held-out
// melody, and the steps of at most 4 semitones. Needs a built rnnc (npm run
// build) and a trained checkpoint (rnnc run examples/melody.rnn).
//
//   node examples/melody-in-key.mjs [runs/melody/checkpoint.json] [-- --sample --temperature 0.8 --seed 1]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { inScale, melodies } from '../dist/runtime/data/synthetic.js';
import { Rng } from '../dist/runtime/rng.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const split = args.indexOf('--');
const ckpt = (split === 0 ? undefined : args[0]) ?? 'runs/melody/checkpoint.json';
const flags = split >= 0 ? args.slice(split + 1) : [];
// The held-out melodies as `rnnc run` made them: the train block's melodies(n = 5000, valid = 500) and seed 1.
const data = melodies(new Rng(1), { n: 5000, valid: 500 });
const scalesOf = (ids) => {
  const out = [];
  for (let key = 0; key < 12; key++) for (const minor of [false, true]) if (ids.every((id) => inScale(id, key, minor))) out.push([key, minor]);
  return out;
};
const lines = execFileSync(process.execPath, [join(root, 'dist/src/bin.js'), 'translate', join(root, 'examples/melody.rnn'), '--ckpt', ckpt, '--validation', '--json', ...flags], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
  maxBuffer: 1 << 28,
}).trim().split('\n');
let notes = 0;
let inKey = 0;
let small = 0;
lines.forEach((line, i) => {
  const { tokens } = JSON.parse(line);
  const ex = data.valid[i];
  const melody = [...ex.inputs[0].ids, ...[...ex.targets[0].ids].slice(0, -1)];
  const scales = scalesOf(melody);
  let prev = ex.inputs[0].ids.at(-1);
  for (const t of tokens) {
    notes++;
    if (t >= 2 && scales.some(([k, m]) => inScale(t, k, m))) inKey++;
    if (t >= 2 && Math.abs(t - prev) <= 4) small++;
    prev = t;
  }
});
console.log(`${notes} notes: ${((100 * inKey) / notes).toFixed(1)} % in the melody's key, ${((100 * small) / notes).toFixed(1)} % steps of at most 4 semitones, mean length ${(notes / lines.length).toFixed(2)}`);
