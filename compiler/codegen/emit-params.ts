// Parameters (compiler/codegen/module.ts assembles the module): the seeded
// generator and the initialisers a model uses (runtime/rng.ts,
// runtime/init-kinds.ts), initParams with the runtime's stream of generators,
// loadParams / saveParams in the format of `rnnc params`, checkParams.
import { bindInit, CodegenError } from './bind.js';
import { numberLiteral } from './emit-ops.js';
import { propertyKey } from './escape.js';
import { fn, readingFns, type ModuleParts, type Statement } from './module-parts.js';
import { INITS, RNG } from './prelude.js';

/** The generator, the initialisers, initParams, loadParams, saveParams and checkParams. */
export function emitParams(m: ModuleParts): Statement[] {
  const { params, perParam } = m;
  const out: Statement[] = [];
  const add = (...s: Statement[]): void => {
    out.push(...s);
  };
  // initParams
  const initKinds = new Set<string>();
  const initExprs = params.map(({ spec, shape }) => {
    const a = bindInit(spec.init.kind, spec.init.args, spec.init.positional);
    const n = shape.reduce((x, y) => x * y, 1);
    const rng = 'rng.fork()';
    const lit = numberLiteral;
    let e: string;
    switch (spec.init.kind) {
      case 'zeros':
      case 'ones':
      case 'constant':
        initKinds.add('fill');
        e = `initFill(${n}, ${spec.init.kind === 'zeros' ? 0 : spec.init.kind === 'ones' ? 1 : lit(a['value']!)})`;
        // The runtime forks a generator for every parameter, used or not.
        e = `(${rng}, ${e})`;
        break;
      case 'identity':
        if (shape.length !== 2 || shape[0] !== shape[1]) throw new CodegenError(`initialiser identity of ${spec.name} needs a square 2-D shape, got [${shape.join(', ')}]`);
        initKinds.add('identity');
        e = `(${rng}, initIdentity(${shape[0]}, ${lit(a['gain']!)}))`;
        break;
      case 'orthogonal':
        if (shape.length !== 2) throw new CodegenError(`initialiser orthogonal of ${spec.name} needs a 2-D shape, got [${shape.join(', ')}]`);
        initKinds.add('orthogonal');
        e = `initOrthogonal(${shape[0]}, ${shape[1]}, ${lit(a['gain']!)}, ${rng})`;
        break;
      case 'uniform':
        initKinds.add('uniform');
        e = `initUniform(${n}, ${lit(a['lo']!)}, ${lit(a['hi']!)}, ${rng})`;
        break;
      case 'normal':
        initKinds.add('normal');
        e = `initNormal(${n}, ${lit(a['mean']!)}, ${lit(a['std']!)}, ${rng})`;
        break;
      case 'glorot':
      case 'xavier':
        initKinds.add('glorot');
        e = `initGlorot([${shape.join(', ')}], ${lit(a['gain']!)}, ${rng})`;
        break;
      case 'he':
        initKinds.add('he');
        e = `initHe([${shape.join(', ')}], ${lit(a['gain']!)}, ${rng})`;
        break;
      default:
        throw new CodegenError(`unknown initialiser '${spec.init.kind}'`);
    }
    return `${propertyKey(spec.name)}: ${e},`;
  });
  add(RNG, ...[...initKinds].sort().map((k) => INITS[k]!));
  // The generator is exported: a consumer samples with the same stream as `rnnc sample`.
  add('export { Rng };');
  add(
    fn('initParams', 'Fresh parameters from their initialisers, seeded: the same values as `rnnc run` with `seed` (the caller owns them).', [{ name: 'seed', type: 'number' }], 'Params',
      `const rng = new Rng(seed);\n${perParam(`// One generator per parameter, forked in this order.\nconst values: Record<ParamName, Float64Array> = {\n${initExprs.join('\n')}\n};\nreturn mapParams((name) => tf.tensor(Float32Array.from(values[name]), [...PARAM_SHAPES[name]], 'float32'));`, '// This model has no parameters.\nvoid rng;\nreturn {};')}`, true),
    fn('loadParams', 'Parameters from JSON (`rnnc params` output), checking names and shapes (the caller owns the result).', [{ name: 'json', type: 'ParamsJson' }], 'Params',
      `if (typeof json !== 'object' || json === null) throw new Error('loadParams: expected an object mapping parameter names to {shape, data}');
for (const key of Object.keys(json)) {
  if (!(PARAM_NAMES as readonly string[]).includes(key)) throw new Error(\`loadParams: the model has no parameter \${key} (it has \${PARAM_NAMES.join(', ')})\`);
}
${perParam(`for (const name of PARAM_NAMES) {
  const entry = json[name];
  if (entry === undefined) throw new Error(\`loadParams: parameter \${name} is missing\`);
  if (!Array.isArray(entry.shape) || !sameShape(entry.shape, PARAM_SHAPES[name])) {
    throw new Error(\`loadParams: parameter \${name} has shape \${Array.isArray(entry.shape) ? shapeText(entry.shape) : String(entry.shape)}, the model needs \${shapeText(PARAM_SHAPES[name])}\`);
  }
  const size = PARAM_SHAPES[name].reduce((a, b) => a * b, 1);
  if (!Array.isArray(entry.data) || entry.data.length !== size || entry.data.some((x) => typeof x !== 'number')) {
    throw new Error(\`loadParams: parameter \${name} needs \${size} numbers in "data"\`);
  }
}
return mapParams((name) => tf.tensor(Float32Array.from(json[name]!.data), [...PARAM_SHAPES[name]], 'float32'));`, '// This model has no parameters.\nreturn {};')}`, true),
    ...readingFns('saveParams', 'Parameters as JSON (the format of `rnnc params`).', [{ name: 'p', type: 'Params' }], 'ParamsJson',
      `const out: ParamsJson = {};\n${perParam('for (const name of PARAM_NAMES) out[name] = { shape: [...p[name].shape], data: Array.from(yield p[name]) };', '// This model has no parameters.\nvoid p;')}\nreturn out;`),
    fn('checkParams', undefined, [{ name: 'p', type: 'Params' }], 'void',
      perParam(`for (const name of PARAM_NAMES) {
  const t = p[name];
  if (t === undefined || t === null) throw new Error(\`parameter \${name} is missing\`);
  if (t.isDisposed) throw new Error(\`parameter \${name} was disposed (disposeParams): load or initialise the parameters again\`);
  if (!sameShape(t.shape, PARAM_SHAPES[name])) throw new Error(\`parameter \${name} has shape \${shapeText(t.shape)}, the model needs \${shapeText(PARAM_SHAPES[name])}\`);
}`, "if (typeof p !== 'object' || p === null) throw new Error('parameters must be an object');")),
  );
  return out;
}
