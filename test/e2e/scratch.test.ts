import { it } from 'vitest';
import { rnnc } from './cli-harness.js';
it('scratch', async () => {
  for (const a of [['check', 'test/e2e/fixtures/syntax-error.rnn'], ['check', 'test/e2e/fixtures/shape-error.rnn', '--json'], ['check', 'test/e2e/fixtures/two-models.rnn'], ['ir', 'test/e2e/fixtures/two-models.rnn', '--dims', 'V=6'], ['ir', 'test/e2e/fixtures/two-models.rnn', '--model', 'zzz']]) {
    const r = await rnnc(...a);
    console.log(a.join(' '), r.code, '\nSTDOUT:\n' + r.stdout.slice(0, 1500), '\nSTDERR:\n' + r.stderr.slice(0, 2000));
  }
});
