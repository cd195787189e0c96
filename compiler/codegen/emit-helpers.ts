// The helpers every module carries (compiler/codegen/module.ts assembles the
// module): the element-wise table, the op helpers (runtime/tfjs/portable-ops.ts)
// and their webgpu kernels (runtime/tfjs/webgpu-fused.ts),
// scopes and batch helpers, the kept weight transposes, and the maps and
// disposers of parameters and state.
import { elementwiseCodeDeclaration } from './emit-ops.js';
import { fn, type ModuleParts, type Statement } from './module-parts.js';
import { OP_HELPERS, SCOPE_HELPERS, WEBGPU_KERNELS } from './prelude.js';

/** The op and scope helpers, transposes kept per Params, mapParams / mapState, the disposers and zeroState. */
export function emitHelpers(m: ModuleParts): Statement[] {
  const { liftsTransposes, perParam, perState } = m;
  const out: Statement[] = [];
  const add = (...s: Statement[]): void => {
    out.push(...s);
  };
  // registerWebgpuBackend is the module's own: a consumer starts webgpu with it (README "Compile and ship").
  add(elementwiseCodeDeclaration(), OP_HELPERS, WEBGPU_KERNELS, 'export { registerWebgpuBackend };', SCOPE_HELPERS);
  if (liftsTransposes) {
    add(
      `/** Weight transposes forward() made, per Params object (Params are never changed in place); disposeParams frees them. */\nconst TRANSPOSES = new WeakMap<Params, Map<string, tf.Tensor>>();`,
      fn('transposed', 'The transposes of parameters side by side (one parameter: its transpose), made once per Params object and kept (outside any scope) until disposeParams.', [{ name: 'p', type: 'Params' }, { name: 'names', type: 'readonly ParamName[]' }], 'tf.Tensor',
        `let kept = TRANSPOSES.get(p);\nif (kept === undefined) {\n  kept = new Map();\n  TRANSPOSES.set(p, kept);\n}\nconst key = names.join('+');\nlet t = kept.get(key);\nif (t === undefined) {\n  t = tf.keep(joinedTranspose(names.map((name) => p[name])));\n  kept.set(key, t);\n}\nreturn t;`),
    );
  }
  add(
    fn('mapParams', 'Builds a Params from a function of the parameter name.', [{ name: 'f', type: '(name: ParamName) => tf.Tensor' }], 'Params',
      perParam(`const out = {} as Record<ParamName, tf.Tensor>;\nfor (const name of PARAM_NAMES) out[name] = f(name);\nreturn out;`, '// This model has no parameters.\nvoid f;\nreturn {};')),
    fn('mapState', 'Builds a State from a function of the state name.', [{ name: 'f', type: '(name: StateName) => tf.Tensor' }], 'State',
      perState(`const out = {} as Record<StateName, tf.Tensor>;\nfor (const name of STATE_NAMES) out[name] = f(name);\nreturn out;`, '// This model has no recurrent state.\nvoid f;\nreturn {};')),
    fn('disposeParams', 'Disposes every tensor of a Params (parameters, or gradients), and the transposes forward() kept for it.', [{ name: 'p', type: 'Params' }], 'void', `${perParam('for (const name of PARAM_NAMES) p[name].dispose();', '// This model has no parameters.\nvoid p;')}${liftsTransposes ? '\nTRANSPOSES.get(p)?.forEach((t) => t.dispose());\nTRANSPOSES.delete(p);' : ''}`, true),
    fn('disposeState', 'Disposes every tensor of a State.', [{ name: 's', type: 'State' }], 'void', perState('for (const name of STATE_NAMES) s[name].dispose();', '// This model has no recurrent state.\nvoid s;'), true),
    fn('zeroState', 'The state at the start of a sequence: zeros.', [{ name: 'batchSize', type: 'number' }], 'State', `return mapState((name) => tf.zeros([batchSize, ...STATE_SHAPES[name]]));`),
  );
  return out;
}
