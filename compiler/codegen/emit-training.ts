// Loss, gradients and training (compiler/codegen/module.ts assembles the
// module; `train` target only): loss, differentiate and its truncated-BPTT
// windows, gradients, the learning rate schedule, clipping, the optimizer's
// state and update, and trainStep, as runtime/train/session.ts runs them.
import { StructureKind } from 'ts-morph';
import { bindOptimizer, bindSchedule, CodegenError, defaultLr, OPTIMIZER_SLOTS } from './bind.js';
import { quote } from './emit-graph.js';
import { numberLiteral } from './emit-ops.js';
import { fn, gen, readingFns, type ModuleParts, type Statement } from './module-parts.js';

/** loss, gradients, the schedule, clipping, the optimizer and trainStep (the train target). */
export function emitTraining(m: ModuleParts): Statement[] {
  const { model, train, truncated, predictFn, predictFullFn, lossFn, lossFullFn, trainingFn, trainingFullFn, perParam, callEither, keepState } = m;
  const out: Statement[] = [];
  const add = (...s: Statement[]): void => {
    out.push(...s);
  };
  if (train && lossFn && trainingFn) {
    add(...readingFns('loss', `The mean loss of a batch (${model.loss}, per ${model.lossPer === 'example' ? 'sequence' : 'position'}), over the whole sequences.`,
      [{ name: 'p', type: 'Params' }, { name: 'inputs', type: 'Inputs' }, { name: 'targets', type: 'Targets' }], 'number',
      `checkParams(p);
const sizes = yield* checkInputs(inputs);
yield* checkTargets(targets, sizes);
const loss = scoped(() => {
  const batch = prepareBatch(inputs, targets, sizes);
  return tf.keep(${callEither(lossFn, lossFullFn!, 'batch', 'zeroState(sizes.batchSize)', '0', '')}.loss);
});
return (yield* readOwned(loss))[0]!;`));
    const gateParam = truncated ? [{ name: 'gate', type: 'Float32Array' }] : [];
    add(gen('differentiate', 'The training graph on a batch or window: the loss (read back), and gradients and final states that the caller owns.',
      [{ name: 'p', type: 'Params' }, { name: 'batch', type: 'LabelledBatch' }, { name: 's', type: 'State' }, { name: 'lossFrom', type: 'number' }, ...gateParam], '{ loss: number; grads: Params; state: State }',
      `const r = scoped(() => {
  const r = ${callEither(trainingFn, trainingFullFn!, 'batch', 's', 'lossFrom', 'gate')};
  return { loss: tf.keep(r.loss), grads: ${trainingFn.returns.includes('grads') ? 'mapParams((name) => tf.keep(r.grads[name]))' : 'mapParams(() => tf.zeros([]))'}, state: ${keepState(trainingFn, 'r')} };
});
let loss: number;
try {
  loss = (yield* readOwned(r.loss))[0]!;
} catch (e) {
  // A read that failed (webgpu without synchronous reads): nothing is left behind.
  disposeParams(r.grads);
  disposeState(r.state);
  throw e;
}
return { loss, grads: r.grads, state: r.state };`));
    if (truncated) {
      add(fn('advance', 'Runs the forward graph over a part of a batch only to move the states on (the caller owns the result).',
        [{ name: 'p', type: 'Params' }, { name: 'batch', type: 'Batch' }, { name: 's', type: 'State' }], 'State',
        `return scoped(() => {\n  const r = ${callEither(predictFn, predictFullFn, 'batch', 's', '0', '')};\n  return ${keepState(predictFn, 'r')};\n});`));
    }

    // gradients
    const bptt = train.bptt;
    if (bptt.kind === 'full') {
      add(...readingFns('gradients', 'The loss and d(loss)/d(param) of a batch (full BPTT), parameters held fixed. The caller owns (and disposes) the gradients.',
        [{ name: 'p', type: 'Params' }, { name: 'inputs', type: 'Inputs' }, { name: 'targets', type: 'Targets' }], '{ loss: number; grads: Params }',
        `checkParams(p);
const sizes = yield* checkInputs(inputs);
yield* checkTargets(targets, sizes);
const r = yield* differentiate(p, prepareBatch(inputs, targets, sizes), zeroState(sizes.batchSize), 0);
disposeState(r.state);
return { loss: r.loss, grads: r.grads };`));
    } else {
      add(...readingFns('gradients', `The loss and gradients of each truncated-BPTT window (k1 = ${bptt.k1}, k2 = ${bptt.k2}) that has loss positions, parameters held fixed, states carried from window to window. The caller owns (and disposes) the gradients.`,
        [{ name: 'p', type: 'Params' }, { name: 'inputs', type: 'Inputs' }, { name: 'targets', type: 'Targets' }], '{ windows: { loss: number; grads: Params }[] }',
        `checkParams(p);
const sizes = yield* checkInputs(inputs);
yield* checkTargets(targets, sizes);
const windows: { loss: number; grads: Params }[] = [];
yield* walkWindows(prepareBatch(inputs, targets, sizes), function* (part, s, gate, lossFrom) {
  const r = yield* differentiate(p, part, s, lossFrom, gate);
  windows.push({ loss: r.loss, grads: r.grads });
  return r;
}, () => p);
return { windows };`));
      add(gen('walkWindows', 'Walks the truncated-BPTT windows of a batch (as rnnc\'s runtime/train/window-runner.ts), carrying the states from window to window; `run` differentiates one window (and may update the parameters, which `params` then returns). Returns each window\'s loss and loss count.',
        [{ name: 'whole', type: 'LabelledBatch' }, { name: 'run', type: '(part: LabelledBatch, s: State, gate: Float32Array, lossFrom: number) => Reads<{ loss: number; state: State }>' }, { name: 'params', type: '() => Params' }],
        '{ losses: number[]; counts: number[] }',
        `// Each window's loss is read back: the batch is held (kept) across the reads, and released at the end.
const batch = holdBatch(whole);
const losses: number[] = [];
const counts: number[] = [];
// Kept: the states live from window to window, across the reads.
let states: State = scoped(() => {
  const zero = zeroState(batch.batchSize);
  for (const t of Object.values(zero)) tf.keep(t);
  return zero;
});
let statePos = 0;
const windows = planWindows(batch.steps, ${bptt.k1}, ${bptt.k2});
try {
  for (let wi = 0; wi < windows.length; wi++) {
    const w = windows[wi]!;
    if (statePos < w.start) {
      const next = advance(params(), sliceBatch(batch, statePos, w.start), states);
      disposeState(states);
      states = next;
      statePos = w.start;
    }
    const part = sliceBatch(batch, w.start, w.end);
    const lossFrom = w.lossFrom - w.start;
    const n = lossCount(part, lossFrom);
    if (n === 0) continue;
    const r = yield* run(part, states, windowGate(w), lossFrom);
    losses.push(r.loss);
    counts.push(n);
    const stop = !Number.isFinite(r.loss);
    if (!stop && windows[wi + 1]?.start === w.end) {
      // The next window starts where this one ends (k2 <= k1): keep its states.
      disposeState(states);
      states = r.state;
      statePos = w.end;
    } else disposeState(r.state);
    if (stop) break;
  }
} finally {
  // Also when a read fails (webgpu without synchronous reads): nothing is left behind.
  disposeState(states);
  releaseBatch(batch);
}
return { losses, counts };`));
      add(fn('holdBatch', 'A batch\'s tensors as handles of their own (tf.clone shares the data) that outlive the scope: releaseBatch disposes them.', [{ name: 'batch', type: 'LabelledBatch' }], 'LabelledBatch',
        `const hold = <T extends object>(ts: T): T => Object.fromEntries(Object.entries(ts).map(([k, t]) => [k, tf.keep(tf.clone(t as tf.Tensor))])) as T;
return { ...batch, inputs: hold(batch.inputs), targets: hold(batch.targets) };`),
        fn('releaseBatch', 'Disposes the handles of holdBatch.', [{ name: 'batch', type: 'LabelledBatch' }], 'void',
          `for (const t of [...Object.values(batch.inputs), ...Object.values(batch.targets)]) (t as tf.Tensor).dispose();`));
    }

    // optimizer
    const opt = train.optimizer;
    const h = bindOptimizer(opt.name, opt.args);
    const slots = OPTIMIZER_SLOTS[opt.name]!;
    const lit = numberLiteral;
    const baseLr = typeof opt.args['lr'] === 'number' ? opt.args['lr'] : defaultLr(opt.name);
    let lrBody: string;
    let lrDoc: string;
    if (train.schedule) {
      const s = bindSchedule(train.schedule.name, train.schedule.args);
      const lr = lit(baseLr);
      const decay = ((): string => {
        switch (train.schedule.name) {
          case 'constant':
            return `${lr}`;
          case 'step':
            return `${lr} * Math.pow(${lit(s['gamma']!)}, Math.floor(s / ${lit(s['every']!)}))`;
          case 'exponential':
            return `${lr} * Math.pow(${lit(s['gamma']!)}, s / ${lit(s['decay_steps']!)})`;
          case 'cosine':
            return `${lit(s['min_lr']!)} + ((${lr} - ${lit(s['min_lr']!)}) * (1 + Math.cos((Math.PI * Math.min(s, ${lit(s['steps']!)})) / ${lit(s['steps']!)}))) / 2`;
          default:
            throw new CodegenError(`unknown learning-rate schedule '${train.schedule.name}'`);
        }
      })();
      const warm = s['warmup']!;
      lrBody = `${warm > 0 ? `if (step < ${warm}) return (${lr} * (step + 1)) / ${warm};\n` : ''}const s = step - ${warm};\nreturn ${decay};`;
      lrDoc = `The learning rate of update number \`step\` (0 for the first): schedule ${train.schedule.name}(${Object.entries(train.schedule.args).map(([k, v]) => `${k} = ${v}`).join(', ')}) from lr = ${baseLr}.`;
    } else {
      lrBody = `return ${lit(h['lr']!)};`;
      lrDoc = `The learning rate (constant).`;
    }
    add(fn('learningRate', lrDoc, [{ name: 'step', type: 'number' }], 'number', lrBody));
    const slotInit = opt.name === 'adagrad' ? lit(h['initial']!) : '0';
    add({
      kind: StructureKind.Interface,
      name: 'OptimizerState',
      isExported: true,
      docs: [`The state of the ${opt.name} optimizer: the number of updates made and its slots per parameter. trainStep takes ownership of it.`],
      properties: [
        { name: 'step', type: 'number', isReadonly: true },
        ...slots.map((s) => ({ name: s, type: 'Params', isReadonly: true })),
      ],
    });
    add(
      fn('initOptimizer', `A fresh optimizer state for these parameters (slots start at ${slotInit}).`, [{ name: 'p', type: 'Params' }], 'OptimizerState',
        `checkParams(p);\nreturn { step: 0${slots.map((s) => `, ${s}: mapParams((name) => tf.fill([...PARAM_SHAPES[name]], ${slotInit}))`).join('')} };`, true),
      fn('disposeOptimizer', 'Disposes the tensors of an optimizer state.', [{ name: 'state', type: 'OptimizerState' }], 'void',
        slots.length === 0 ? 'void state;' : slots.map((s) => `disposeParams(state.${s});`).join('\n'), true),
    );
    const clip = train.clip;
    // Clipping and the update are the interpreter's own functions (clipGlobalNorm, clipValues and
    // optimizerUpdate of runtime/tfjs/portable-ops.ts, carried in the prelude), given this model's settings.
    const clipBody = !clip
      ? 'return grads;'
      : `const clipped = ${clip.mode === 'norm' ? 'clipGlobalNorm' : 'clipValues'}(PARAM_NAMES.map((name) => grads[name]), ${lit(clip.value)})${clip.mode === 'norm' ? '.slice(1)' : ''};
return mapParams((name) => clipped[PARAM_NAMES.indexOf(name)]!);`;
    add(fn('clipGradients', clip ? `Gradient clipping: clip ${clip.mode} ${clip.value}.` : 'No clipping is configured.', [{ name: 'grads', type: 'Params' }], 'Params', clipBody));
    const hyper = `{ ${Object.entries(h).map(([k, v]) => `${k}: ${lit(v)}`).join(', ')} }`;
    const update = `const r = optimizerUpdate(${quote(opt.name)}, p[name], g, { ${slots.map((sl) => `${sl}: state.${sl}[name]`).join(', ')} }, HYPER, lr, t);
params[name] = r.p;${slots.map((sl) => `\n${sl}[name] = r.slots[${quote(sl)}]!;`).join('')}`;
    const rule: Record<string, string> = {
      sgd: 'p -= lr g',
      momentum: h['nesterov'] === 1 ? 'v = mu v - lr g; p += mu v - lr g (Nesterov)' : 'v = mu v - lr g; p += v',
      rmsprop: 's = rho s + (1 - rho) g^2; p -= lr g / (sqrt(s) + eps)',
      adam: 'm = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr m^ / (sqrt(v^) + eps), with the bias corrections of step t',
      adagrad: 'a = a + g^2; p -= lr g / (sqrt(a) + eps)',
    };
    add(`/** The ${opt.name} optimizer's settings (defaults filled in). */\nconst HYPER: Readonly<Record<string, number>> = ${hyper};`);
    add(fn('applyUpdate', `One ${opt.name} update (${rule[opt.name]}${clip ? `, after clip ${clip.mode} ${clip.value}` : ''}). Returns new parameters and state that the caller owns; disposes nothing.`,
      [{ name: 'p', type: 'Params' }, { name: 'state', type: 'OptimizerState' }, { name: 'grads', type: 'Params' }], '{ params: Params; optimizer: OptimizerState }',
      `const lr = learningRate(state.step);
if (!(Number.isFinite(lr) && lr >= 0)) throw new Error(\`learning rate at step \${state.step} is \${lr}; it must be a finite number >= 0\`);
const t = state.step + 1;
return scoped(() => {
  const clipped = clipGradients(grads);
  const params = {} as Record<ParamName, tf.Tensor>;
${slots.map((s) => `  const ${s} = {} as Record<ParamName, tf.Tensor>;`).join('\n')}
  ${perParam(`for (const name of PARAM_NAMES) {
    const g = clipped[name];
    ${update.split('\n').join('\n    ')}
  }`, `// This model has no parameters.\n  void state;\n  void clipped;`)}
  return { params: mapParams((name) => tf.keep(params[name])), optimizer: { step: t${slots.map((s) => `, ${s}: mapParams((name) => tf.keep(${s}[name]))`).join('')} } };
});`));
    add(`/** What trainStep returns: the parameters and optimizer state to use next, and the batch's mean loss. */\nexport interface TrainStepResult { readonly params: Params; readonly optimizer: OptimizerState; readonly loss: number; }`);
    const trainDoc = `One training step on a batch: ${bptt.kind === 'full' ? 'the gradients of the whole sequences (full BPTT), then one update' : `one update per truncated-BPTT window (k1 = ${bptt.k1}, k2 = ${bptt.k2})`}. Ownership: trainStep takes \`p\` and \`optimizer\` and disposes them once it has made their successors; use only the returned ones. A non-finite loss makes no update (the returned params are then the ones passed in). The loss is the batch's mean${bptt.kind === 'full' ? '' : ' over the windows'}.`;
    const commit = `const next = applyUpdate(params, optimizer, r.grads);
disposeParams(params);
disposeOptimizer(optimizer);
params = next.params;
optimizer = next.optimizer;`;
    add(...readingFns('trainStep', trainDoc,
      [{ name: 'p', type: 'Params' }, { name: 'optimizer', type: 'OptimizerState' }, { name: 'inputs', type: 'Inputs' }, { name: 'targets', type: 'Targets' }], 'TrainStepResult',
      bptt.kind === 'full'
        ? `checkParams(p);
const sizes = yield* checkInputs(inputs);
yield* checkTargets(targets, sizes);
let params = p;
const r = yield* differentiate(p, prepareBatch(inputs, targets, sizes), zeroState(sizes.batchSize), 0);
disposeState(r.state);
if (Number.isFinite(r.loss)) {
  ${commit.split('\n').join('\n  ')}
}
disposeParams(r.grads);
return { params, optimizer, loss: r.loss };`
        : `checkParams(p);
const sizes = yield* checkInputs(inputs);
yield* checkTargets(targets, sizes);
let params = p;
const { losses, counts } = yield* walkWindows(prepareBatch(inputs, targets, sizes), function* (part, s, gate, lossFrom) {
  const r = yield* differentiate(params, part, s, lossFrom, gate);
  if (Number.isFinite(r.loss)) {
    ${commit.split('\n').join('\n    ')}
  }
  disposeParams(r.grads);
  return r;
}, () => params);
const bad = losses.find((l) => !Number.isFinite(l));
const total = counts.reduce((a, b) => a + b, 0);
const loss = bad !== undefined ? bad : total > 0 ? losses.reduce((acc, l, i) => acc + l * counts[i]!, 0) / total : 0;
return { params, optimizer, loss };`));
  }
  return out;
}
