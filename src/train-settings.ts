// Checks the parts of train blocks that the runtime owns (data sources,
// optimizers, schedules: their names and arguments) and reports mistakes as
// diagnostics at the setting's span, so `rnnc check` finds them without
// loading any data or training. Its imports load no tfjs (the optimizer's
// rules are runtime/train/optimizer-rules.ts; test/e2e/cli-startup.test.ts).
import type { Analysis } from '../compiler/compile.js';
import type { Diagnostic } from '../compiler/diagnostics/diagnostic.js';
import { makeDiagnostic, type DiagnosticCode } from '../compiler/diagnostics/messages.js';
import type { Span } from '../compiler/diagnostics/span.js';
import { checkDataSource, DATA_SOURCES, placeDataArgs } from '../runtime/data/registry.js';
import { RuntimeUserError } from '../runtime/io.js';
import { bindOptimizerArgs } from '../runtime/train/optimizer-rules.js';
import { makeSchedule } from '../runtime/train/schedules.js';

export function trainSettingDiagnostics(a: Analysis): Diagnostic[] {
  const out: Diagnostic[] = [];
  const attempt = (code: DiagnosticCode, span: Span, fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof RuntimeUserError)) throw e;
      const [first, ...rest] = e.message.split('\n');
      out.push(makeDiagnostic(code, span, first ?? e.message, rest.length > 0 ? { hint: rest.map((l) => l.trim()).join('; ') } : {}));
    }
  };
  const numeric = (args: Readonly<Record<string, number | string>>, what: string): Record<string, number> => {
    const r: Record<string, number> = Object.create(null);
    for (const [k, v] of Object.entries(args)) {
      if (typeof v !== 'number') throw new RuntimeUserError(`${what}: argument ${k} must be a number, not ${JSON.stringify(v)}`);
      r[k] = v;
    }
    return r;
  };
  for (const config of a.trains.values()) {
    const data = config.data;
    if (data) {
      attempt('RNN5004', data.span, () => {
        // An unknown source is that first (with the known ones listed), whatever its arguments look like.
        if (!DATA_SOURCES.some((d) => d.name === data.name)) checkDataSource(data.name, data.args);
        const args = placeDataArgs(data.name, data.args, data.positional);
        checkDataSource(data.name, args);
      });
    }
    const opt = config.optimizer;
    attempt('RNN5005', opt.span, () => bindOptimizerArgs({ name: opt.name, args: numeric(opt.args, `optimizer ${opt.name}`) }));
    const sched = config.schedule;
    if (sched) {
      attempt('RNN5005', sched.span, () => {
        makeSchedule({ name: sched.name, args: numeric(sched.args, `schedule ${sched.name}`) }, 1e-3);
      });
    }
  }
  return out;
}
