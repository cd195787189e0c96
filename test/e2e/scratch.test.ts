import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { rnnc, tempDir, writeFile, readMetrics, mean, readCheckpoint } from './cli-harness.js';
it('scratch', async () => {
  const d = tempDir();
  let r;
  writeFile(d, 'abc.txt', 'abcab cabba\n'.repeat(40));
  for (const [bptt, k, N] of [['full', 5, 15], ['truncated(k1 = 4, k2 = 6)', 6, 45]] as const) {
    const f = writeFile(d, 'r.rnn', `dim V, E = 4, H = 6
model lm { input chars: seq<token[V]>; target next: seq<token[V]>; h = lstm(embed(chars, E)) with H; y = dense(h, V); loss = cross_entropy(y, next) }
train lm { data text("abc.txt", seq_len = 10); optimizer adam(lr = 1e-2); clip norm 1.0; bptt ${bptt}; batch 4; epochs 3; seed 7 }`);
    const t = Date.now();
    const a = await rnnc('run', f, '--backend', 'cpu', '--steps', String(N), '--out', d + '/a', '--quiet');
    const b1 = await rnnc('run', f, '--backend', 'cpu', '--steps', String(k), '--out', d + '/b1', '--quiet');
    const b2 = await rnnc('run', f, '--backend', 'cpu', '--steps', String(N), '--resume', d + '/b1/checkpoint.json', '--out', d + '/b2', '--quiet');
    console.log(Date.now() - t, a.stderr, b1.stderr, b2.stderr);
    const ca = readCheckpoint(d + '/a/checkpoint.json'), cb1 = readCheckpoint(d + '/b1/checkpoint.json'), cb = readCheckpoint(d + '/b2/checkpoint.json');
    console.log(ca.step, ca.epoch, ca.batchInEpoch, cb1.step, cb1.epoch, cb1.batchInEpoch, cb.step, cb.epoch, cb.batchInEpoch, JSON.stringify(ca.params) === JSON.stringify(cb.params), JSON.stringify(ca.optimizer) === JSON.stringify(cb.optimizer));
  }
});
