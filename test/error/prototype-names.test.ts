// Names of Object.prototype's members are ordinary names (ARCHITECTURE.md
// rule 10): as an argument of an optimizer, a schedule or an initialiser they
// are unknown arguments like any other (a `{}` record once dropped
// `__proto__ = 1` silently), and as names of cells, inputs, dimensions and
// statements they check and lower like any other (the emitted module of such
// a program is type-checked and run in test/codegen/emitted.test.ts).
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { analyze, buildModel } from '../../compiler/compile.js';
import { loadStdlib } from '../../src/stdlib.js';
import { trainSettingDiagnostics } from '../../src/train-settings.js';

const NAMES = ['__proto__', 'constructor', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'toString'];

const program = (train: string, name = 'x'): string => `
model m {
  dim H = 3
  input ${name}: seq<[2]>
  target y: seq<[2]>
  h = gru(${name}) with H
  p[t] = dense(h[t], 2)
  loss = mse(p, y)
}
train m { ${train} }
`;

function diagnostics(text: string) {
  const a = analyze({ file: 'm.rnn', text }, loadStdlib());
  return [...a.diagnostics, ...trainSettingDiagnostics(a)];
}

describe('Object.prototype names', () => {
  for (const name of NAMES) {
    it(`${name} as an optimizer or schedule argument is unknown (RNN5005)`, () => {
      for (const train of [`optimizer adam(lr = 0.01, ${name} = 1)`, `optimizer sgd(lr = 0.1); schedule step(every = 2, ${name} = 1)`]) {
        const ds = diagnostics(program(train));
        expect(ds.map((d) => d.code), train).toEqual(['RNN5005']);
        expect(ds[0]!.message).toContain(`unknown argument '${name}'`);
      }
    });

    it(`${name} as an input name checks and lowers`, () => {
      const text = program('optimizer adam(lr = 0.01)', name);
      const a = analyze({ file: 'm.rnn', text }, loadStdlib());
      expect([...a.diagnostics, ...trainSettingDiagnostics(a)]).toEqual([]);
      const built = buildModel(a, 'm', {});
      expect(built.diagnostics).toEqual([]);
      expect(built.model!.inputs.map((s) => s.name)).toEqual([name]);
    });
  }
});
