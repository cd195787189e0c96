// The `rnnc` command line. Each command lives in src/commands; this file
// parses flags (commander) and turns every failure into a one-paragraph
// message and an exit code (src/errors.ts): never a stack trace for a user
// mistake.
//
// Each command's module is imported when the command runs, not here: they
// bring in chevrotain, tfjs, ts-morph and prettier, which take about a second
// to load, and `rnnc --version`, `--help` and `check` need none or few of
// them (`npm run bench -- --startup` measures it; README.md, "Performance").
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InternalError } from '../compiler/diagnostics/diagnostic.js';
import type { BpttSpec } from '../compiler/sema/train.js';
import { RuntimeUserError } from '../runtime/io.js';
import type { irCommand } from './commands/check.js';
import type { CompileOptions } from './commands/compile.js';
import type { FmtOptions } from './commands/fmt.js';
import type { gradCommand } from './commands/grad.js';
import type { ParamsOptions } from './commands/params.js';
import type { ExportOptions, ImportOptions } from './commands/weights.js';
import type { sampleCommand, scoreCommand } from './commands/generate.js';
import type { RunOptions } from './commands/run.js';
import type { translateCommand } from './commands/translate.js';
import type { evaluateCommand } from './commands/evaluate.js';
import type { predictCommand } from './commands/predict.js';
import type { graphCommand } from './commands/graph.js';
import type { encodeCommand } from './commands/encode.js';
import { CliError, EXIT } from './errors.js';
import { packageRoot } from './stdlib.js';

function int(name: string, min = 0, max?: { readonly value: number; readonly why: string }) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number${min > 0 ? ` >= ${min}` : ''}`);
    if (max !== undefined && n > max.value) throw new InvalidArgumentError(`${name} must be at most ${max.value}: ${max.why}`);
    return n;
  };
}

/**
 * An unrolled module repeats a time step's code once per step: about 80
 * lines a step for the smallest model, so 1000 steps is some 80,000 lines
 * already, and 100,000 steps ran V8 out of memory after minutes. Longer
 * sequences are what the loops are for.
 */
export const MAX_UNROLL = {
  value: 1000,
  why: 'an unrolled module repeats the code of a time step once per step (1000 steps is some 80,000 lines); for longer sequences leave out --unroll and keep the loops',
} as const;

function positive(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

function nonNegative(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!(n >= 0) || !Number.isFinite(n) || v.trim() === '') throw new InvalidArgumentError(`${name} must be a number >= 0`);
    return n;
  };
}

function keyValue(v: string, prev: Record<string, number | string> = {}): Record<string, number | string> {
  const m = /^([A-Za-z_]\w*)=(.*)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`expected NAME=VALUE, got "${v}"`);
  const raw = m[2]!;
  const num = Number(raw);
  return { ...prev, [m[1]!]: raw !== '' && Number.isFinite(num) ? num : raw };
}

function bpttSpec(v: string): BpttSpec {
  if (v === 'full') return { kind: 'full' };
  // k2 defaults to k1, as in the train block's `truncated(k1 = N)`.
  const m = /^k1=(\d+)(?:,k2=(\d+))?$/.exec(v.replace(/\s+/g, ''));
  const k2 = m?.[2] ?? m?.[1];
  if (!m || Number(m[1]) < 1 || Number(k2) < 1) throw new InvalidArgumentError('expected `full`, `k1=N` or `k1=N,k2=M` (whole numbers >= 1; k2 defaults to k1)');
  return { kind: 'truncated', k1: Number(m[1]), k2: Number(k2) };
}

function dimsList(v: string): Record<string, number> {
  const out: Record<string, number> = Object.create(null);
  for (const part of v.split(',')) {
    const m = /^([A-Za-z_]\w*)=(\d+)$/.exec(part.trim());
    if (!m) throw new InvalidArgumentError(`expected NAME=SIZE[,NAME=SIZE...], got "${part}"`);
    const n = Number(m[2]);
    if (!(n >= 1 && n <= 2 ** 31 - 1)) throw new InvalidArgumentError(`${m[1]}=${m[2]}: a size is a whole number from 1 to 2^31 - 1`);
    out[m[1]!] = n;
  }
  return out;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

const backendOption = () =>
  new Option('--backend <name>', 'tensorflow | webgpu | wasm | cpu (default: the first of tensorflow, webgpu on a hardware GPU, wasm, cpu that loads)')
    .choices(['tensorflow', 'webgpu', 'wasm', 'cpu'])
    .env('RNNC_BACKEND');

export function buildCli(done: (code: number) => void): Command {
  const program = new Command();
  program
    .name('rnnc')
    .description('Compile, train and run recurrent neural networks written as .rnn equations, on TensorFlow.js.')
    .version(version())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('check')
    .description('check a .rnn file: syntax, names, shapes, recurrences, training settings (exit 0 clean, 1 errors)')
    .argument('<file>', '.rnn file')
    .option('--json', 'print diagnostics as JSON')
    .action(async (file: string, o: { json?: boolean }) => done((await import('./commands/check.js')).checkCommand(file, o)));

  program
    .command('fmt')
    .description('format .rnn files in place: canonical spacing and indentation, comments kept (exit 1 if a file does not parse)')
    .argument('<files...>', '.rnn files, or - to format standard input to standard output')
    .option('--check', 'write nothing: list the files that would change, exit 1 if any would')
    .option('--stdout', 'print the formatted text of the one file instead of rewriting it')
    .action(async (files: string[], o: FmtOptions) => done((await import('./commands/fmt.js')).fmtCommand(files, o)));

  program
    .command('ir')
    .description('print the IR of a model (and with --grad its derivative)')
    .argument('<file>', '.rnn file')
    .option('--model <name>', 'which model (default: the only one, or the one with a train block)')
    .option('--grad', 'print the training graph: forward plus symbolic gradients')
    .option('--truncated', 'as for truncated BPTT (default: per the train block)')
    .option('--dims <list>', 'sizes for dimensions the data would fix, e.g. V=80,K=10', dimsList)
    .option('--dump-ir-after <pass>', 'print the graphs as they leave an optimisation pass')
    .option('--no-optimize', 'print the graphs as autodiff makes them, before the optimisation passes')
    .option('--unpadded', 'the variant run on batches without padding (the loops do not read the mask)')
    .action(async (file: string, o: Parameters<typeof irCommand>[1]) => done((await import('./commands/check.js')).irCommand(file, o)));

  program
    .command('run')
    .description('train per the train block (flags override it), then evaluate on the validation split')
    .argument('<file>', '.rnn file')
    .option('--model <name>', 'which model (default: the one with a train block)')
    .addOption(backendOption())
    .option('--epochs <n>', 'epochs (overrides the train block)', int('--epochs', 1))
    .option('--batch <n>', 'batch size (overrides the train block)', int('--batch', 1))
    .option('--seed <n>', 'random seed (overrides the train block)', int('--seed'))
    .option('--steps <n>', 'stop once this many optimizer steps are done in total, at the end of a batch (a step is one update: one window under truncated BPTT, as metrics.jsonl counts)', int('--steps', 1))
    .option('--bptt <spec>', 'override backpropagation through time: full, or k1=N[,k2=M] (truncated; k2 defaults to k1)', bpttSpec)
    .option('--data-arg <name=value>', 'override an argument of the data source (repeatable)', keyValue)
    .option('--out <dir>', 'where checkpoint.json and metrics.jsonl go (default: runs/<model>)')
    .option('--plot <file>', 'at the end, draw the training curves (as rnnc plot) into this file (.svg or .html)')
    .option('--force', 'replace a run of another .rnn file in the output folder, and with --plot an existing file that rnnc did not draw')
    .option('--checkpoint-every <n>', 'write a checkpoint every N steps (default: the train block, else only at the end)', int('--checkpoint-every'))
    .option('--resume <ckpt>', 'continue exactly where a checkpoint stopped')
    .option('--init-params <json>', 'start from parameters in JSON ({"name": {"shape", "data"}})')
    .option('--remat', 'recompute each step in the backward pass instead of saving its intermediates (less memory, slower)')
    .option('--workers <n>', 'train data-parallel in N worker threads, each with its own backend and a slice of every batch (default 1)', int('--workers', 1))
    .option('--quiet', 'no progress output')
    .option('--json', 'print the final metrics as one JSON object (model, step, status, split, loss, count, perplexity, bits_per_char, accuracy, exact, sequences where they apply, greedy, checkpoint, best)')
    .action(async (file: string, o: RunOptions & { dataArg?: Record<string, number | string> }) =>
      done(await (await import('./commands/run.js')).runCommand(file, { ...o, ...(o.dataArg ? { dataArgs: o.dataArg } : {}) })),
    );

  program
    .command('grad')
    .description('loss and gradients as JSON for given parameters and batch (per window with truncated BPTT)')
    .argument('<file>', '.rnn file')
    .requiredOption('--params <json>', 'parameters: {"name": {"shape": [...], "data": [...]}}')
    .requiredOption('--batch <json>', 'batch: {"input": {"shape": [B, T], "data": [...]}, ..., "lengths"?: [...]}')
    .option('--reference', 'compute with the float64 reference evaluator instead of tfjs')
    .option('--bptt <spec>', 'override backpropagation through time as rnnc run does: full, or k1=N[,k2=M] (one entry per window)', bpttSpec)
    .option('--model <name>', 'which model')
    .addOption(backendOption())
    .action(async (file: string, o: Parameters<typeof gradCommand>[1]) => done(await (await import('./commands/grad.js')).gradCommand(file, o)));

  program
    .command('sample')
    .description('generate text with a trained language model')
    .argument('<file>', '.rnn file')
    .requiredOption('--ckpt <path>', 'checkpoint written by rnnc run')
    .option('--prime <text>', 'text to start from')
    .option('--temperature <t>', 'softmax temperature: < 1 safer, > 1 more varied', positive('--temperature'), 1)
    .option('--length <n>', 'tokens to generate', int('--length', 1), 200)
    .option('--seed <n>', 'random seed', int('--seed'), 0)
    .option('--json', 'one JSON object: prime, text, tokens, ids, temperature, seed')
    .option('--model <name>', 'which model')
    .addOption(backendOption())
    .action(async (file: string, o: Parameters<typeof sampleCommand>[1]) => done(await (await import('./commands/generate.js')).sampleCommand(file, o)));

  program
    .command('score')
    .description('log-probability and per-token perplexity of texts under a trained language model')
    .argument('<file>', '.rnn file')
    .argument('<text...>', 'one or more texts')
    .requiredOption('--ckpt <path>', 'checkpoint written by rnnc run')
    .option('--json', 'one JSON object per text: text, logprob (nats), bits, perplexity (per token), tokens (how many were scored)')
    .option('--model <name>', 'which model')
    .addOption(backendOption())
    .action(async (file: string, texts: string[], o: Parameters<typeof scoreCommand>[2]) => done(await (await import('./commands/generate.js')).scoreCommand(file, texts, o)));

  program
    .command('translate')
    .description('decode new inputs with a trained encoder-decoder: greedy, or beam search with --beam K')
    .argument('<file>', '.rnn file')
    .argument('[text...]', 'inputs to translate (or --input FILE)')
    .requiredOption('--ckpt <path>', 'checkpoint written by rnnc run')
    .option('--input <file>', 'a text file with one input per line')
    .option('--validation', "decode the held-out examples of the train block's data; report exact match and token accuracy")
    .option('--limit <n>', 'with --validation: the first N held-out examples', int('--limit', 1))
    .option('--beam <k>', 'beam width (1: greedy decoding)', int('--beam', 1), 1)
    .option('--max-len <n>', 'the longest output of a decoder with an end token', int('--max-len', 1), 100)
    .option('--sample', "draw each token from the decoder's distribution instead of taking the best")
    .option('--temperature <t>', 'with --sample: softmax temperature, < 1 safer, > 1 more varied (default: 1)', positive('--temperature'))
    .option('--seed <n>', 'with --sample: random seed (default: 0)', int('--seed'))
    .option('--alpha <a>', "with --beam: length normalisation ((5 + n) / 6)^alpha (default: 0, none)", nonNegative('--alpha'))
    .option('--json', 'one JSON object per line: input, output, tokens, logprob')
    .option('--show-attention', 'with --json: each output\'s attention weights (per attend: [output step][input position])')
    .option('--attention <file>', 'write the attention weights as heat maps (.svg or .html)')
    .option('--force', 'overwrite an existing file that rnnc translate did not write')
    .option('--model <name>', 'which model')
    .addOption(backendOption())
    .action(async (file: string, texts: string[], o: Parameters<typeof translateCommand>[2]) =>
      done(await (await import('./commands/translate.js')).translateCommand(file, texts, o)));

  program
    .command('encode')
    .description("a trained model's values (an autoencoder's codes) for each validation example, as JSON lines")
    .argument('<file>', '.rnn file')
    .requiredOption('--ckpt <path>', 'checkpoint written by rnnc run')
    .option('--value <name>', 'a statement of the model to output (repeatable; default: code)', (v: string, acc: string[] | undefined) => [...(acc ?? []), v])
    .option('--limit <n>', 'the first N validation examples', int('--limit', 1))
    .option('-o, --output <file>', 'write the JSON lines to a file')
    .option('--plot <file>', 'draw the first two numbers of the first value, coloured by class (.svg or .html)')
    .option('--force', 'overwrite an existing file that rnnc encode did not write')
    .option('--model <name>', 'which model')
    .addOption(backendOption())
    .action(async (file: string, o: Parameters<typeof encodeCommand>[1]) => done(await (await import('./commands/encode.js')).encodeCommand(file, o)));

  program
    .command('predict')
    .description('a trained model on new inputs, one result per input line: a label (classifier), values (regressor), a token per step (tagger, language model)')
    .argument('<file>', '.rnn file')
    .requiredOption('--ckpt <path>', 'checkpoint written by rnnc run')
    .requiredOption('--input <file>', 'one input per line: text (a model reading one token sequence; - reads standard input), .jsonl objects mapping input names to values, or .csv rows under a header')
    .option('--json', 'one JSON object per line: input, and label, id, probs (classifier), values (regressor), tokens, ids (per step)')
    .option('--model <name>', 'which model')
    .addOption(backendOption())
    .action(async (file: string, o: Parameters<typeof predictCommand>[1]) => done(await (await import('./commands/predict.js')).predictCommand(file, o)));

  program
    .command('evaluate')
    .description("a trained model's metrics (as at the end of rnnc run) on the validation split of its data, other data (--data-arg) or the training split")
    .argument('<file>', '.rnn file')
    .requiredOption('--ckpt <path>', 'checkpoint written by rnnc run')
    .option('--model <name>', 'which model')
    .option('--data-arg <name=value>', 'override an argument of the data the checkpoint was trained on (repeatable), e.g. path=other.txt', keyValue)
    .addOption(new Option('--split <split>', 'which split to evaluate').choices(['validation', 'train']).default('validation'))
    .option('--json', 'one JSON object: model, step, split, examples, loss, count, and perplexity, bits_per_char, accuracy, exact, sequences where they apply; greedy: the same with decoders reading their own tokens')
    .addOption(backendOption())
    .action(async (file: string, o: Parameters<typeof evaluateCommand>[1]) => done(await (await import('./commands/evaluate.js')).evaluateCommand(file, o)));

  program
    .command('summary')
    .description("a model's parameters as a table: name, shape, number of values, initialiser, where declared; the totals")
    .argument('<file>', '.rnn file')
    .option('--model <name>', 'which model')
    .option('--dims <list>', 'sizes for dimensions the data would fix, e.g. V=80,K=10', dimsList)
    .option('--ckpt <path>', 'take the data dimensions from a checkpoint written by rnnc run')
    .option('--json', 'one JSON object: model, params [{name, shape, count, init, source}], total, unbound')
    .action(async (file: string, o: { model?: string; dims?: Record<string, number>; ckpt?: string; json?: boolean }) =>
      done(await (await import('./commands/summary.js')).summaryCommand(file, o)));

  program
    .command('graph')
    .description('a model as a diagram: inputs, targets and statements with their shapes and parameter counts, edges from what each reads')
    .argument('<file>', '.rnn file')
    .requiredOption('-o, --output <file>', 'the diagram: .dot (Graphviz), .svg or .html')
    .option('--model <name>', 'which model')
    .option('--dims <list>', 'sizes for dimensions the data would fix, e.g. V=80,K=10', dimsList)
    .option('--ckpt <path>', 'take the data dimensions from a checkpoint written by rnnc run')
    .option('--force', 'overwrite an existing file that rnnc graph did not write')
    .action(async (file: string, o: Parameters<typeof graphCommand>[1]) => done(await (await import('./commands/graph.js')).graphCommand(file, o)));

  program
    .command('plot')
    .description('draw training curves from metrics.jsonl files of rnnc run (several runs overlaid): the loss over steps, validation points and metrics')
    .argument('<metrics...>', 'metrics.jsonl files (runs/<model>/metrics.jsonl)')
    .requiredOption('-o, --output <file>', 'the chart to write (.svg or .html)')
    .option('--force', 'overwrite an existing file that rnnc did not draw')
    .action(async (files: string[], o: { output: string; force?: boolean }) => done(await (await import('./commands/plot.js')).plotCommand(files, o)));

  program
    .command('compile')
    .description('compile a model to a standalone TypeScript module (depends only on @tensorflow/tfjs-core)')
    .argument('<file>', '.rnn file')
    .requiredOption('-o, --output <file>', 'the .ts file to write')
    .option('--model <name>', 'which model (default: the only one, or the one with a train block)')
    .addOption(new Option('--target <target>', 'forward: inference only; train: also loss, gradients and trainStep (default: train when the model has a train block)').choices(['forward', 'train']))
    .option('--unroll <n>', 'emit the time loops unrolled n steps (sequences must then have exactly n steps)', int('--unroll', 1, MAX_UNROLL))
    .option('--dims <list>', 'sizes for dimensions the data would fix, e.g. V=80,K=10', dimsList)
    .option('--dump-ir-after <pass>', 'print the graphs as they leave an optimisation pass')
    .option('--no-optimize', 'print the graphs as autodiff makes them, before the optimisation passes')
    .option('--unpadded', 'the variant run on batches without padding (the loops do not read the mask)')
    .option('--ckpt <path>', 'take the data dimensions from a checkpoint written by rnnc run')
    .option('--force', 'replace the output file even if it is not a module rnnc compiled (never an input of the command)')
    .action(async (file: string, o: CompileOptions) => done(await (await import('./commands/compile.js')).compileCommand(file, o)));

  program
    .command('params')
    .description('export the parameters of a checkpoint as JSON ({"name": {"shape", "data"}}), or with --init a model\'s freshly initialised ones')
    .argument('<source>', 'checkpoint written by rnnc run; with --init, a .rnn file')
    .option('--init', 'fresh parameters from the .rnn file: the values rnnc run starts from with the same seed')
    .option('--seed <n>', 'with --init: the seed (default: the train block\'s, else 0)', int('--seed'))
    .option('--model <name>', 'with --init: which model')
    .option('--dims <list>', 'with --init: sizes for dimensions the data would fix, e.g. V=80,K=10 (default: read from the train block\'s data)', dimsList)
    .option('-o, --output <file>', 'write to a file (default: standard output)')
    .option('--force', 'replace the output file even if it is not a parameters file (never an input of the command)')
    .action(async (source: string, o: ParamsOptions) => done(await (await import('./commands/params.js')).paramsCommand(source, o)));

  program
    .command('export')
    .description("write a checkpoint's weights for other frameworks: a TensorFlow.js Layers model (model.json + weights.bin) or a safetensors file (docs/weights.md)")
    .argument('<file>', '.rnn file')
    .requiredOption('--ckpt <path>', 'checkpoint written by rnnc run')
    .addOption(new Option('--to <format>', 'tfjs-layers: a folder with model.json and weights.bin; safetensors: one file').choices(['tfjs-layers', 'safetensors']).makeOptionMandatory())
    .requiredOption('-o, --output <path>', 'the folder (tfjs-layers) or the .safetensors file to write')
    .addOption(new Option('--names <naming>', "with --to safetensors: rnnc's parameter names (default) or PyTorch's (torch.nn.LSTM, GRU, RNN, Embedding, Linear)").choices(['rnnc', 'torch']))
    .option('--model <name>', 'which model (default: the only one, or the one with a train block)')
    .option('--force', 'replace an output file that rnnc did not export (never an input of the command)')
    .action(async (file: string, o: ExportOptions) => done(await (await import('./commands/weights.js')).exportCommand(file, o)));

  program
    .command('import')
    .description('read weights of a TensorFlow.js Layers / Keras model.json or a safetensors file into an rnnc parameters file (for rnnc run --init-params)')
    .argument('<file>', '.rnn file')
    .requiredOption('--from <path>', 'a model.json (its weight files beside it) or a .safetensors file')
    .requiredOption('-o, --output <file>', 'the parameters file to write (rnnc params format)')
    .addOption(new Option('--names <naming>', "the safetensors file's names: rnnc's or PyTorch's (default: what the file's metadata says, else rnnc)").choices(['rnnc', 'torch']))
    .option('--model <name>', 'which model (default: the one the file names, the only one, or the one with a train block)')
    .option('--dims <list>', "sizes for dimensions the data would fix, e.g. V=80,K=10 (default: the file's record of them, else the train block's data)", dimsList)
    .option('--force', 'replace the output file even if it is not a parameters file (never an input of the command)')
    .action(async (file: string, o: ImportOptions) => done(await (await import('./commands/weights.js')).importCommand(file, o)));

  program
    .command('lsp')
    .description('a language server over standard input and output, for editors: diagnostics as you type, hover, go-to-definition, completion')
    .addOption(new Option('--stdio', 'talk over standard input and output (the only transport; editors pass it)').hideHelp())
    .addOption(new Option('--clientProcessId <pid>', 'end when this process ends (editors pass it)').hideHelp())
    .action(async () => done(await (await import('./commands/lsp.js')).lspCommand()));

  return program;
}

/** Runs the CLI on `argv` (without `node rnnc`) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let code: number = EXIT.ok;
  // An empty RNNC_BACKEND means unset, as most tools read an empty variable.
  if (process.env['RNNC_BACKEND'] === '') delete process.env['RNNC_BACKEND'];
  const program = buildCli((c) => {
    code = c;
  });
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.usage;
    }
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    return handleError(e);
  }
  return code;
}

export function handleError(e: unknown): number {
  if (e instanceof CommanderError) {
    // commander already printed its message (and help where asked for).
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
    return EXIT.usage;
  }
  if (e instanceof CliError) {
    process.stderr.write(`error: ${e.message}\n`);
    return e.exitCode;
  }
  if (e instanceof RuntimeUserError) {
    process.stderr.write(`error: ${e.message}\n`);
    return EXIT.user;
  }
  if (e instanceof InternalError) {
    process.stderr.write(`${e.message}\nThis is a bug in rnnc, not in your program; please report it with the .rnn file.\n`);
    if (process.env['RNNC_DEBUG']) process.stderr.write(`${e.stack ?? ''}\n`);
    return EXIT.internal;
  }
  const err = e as Error;
  process.stderr.write(`internal error: ${err?.message ?? String(e)}\nThis is a bug in rnnc; please report it (set RNNC_DEBUG=1 for details).\n`);
  if (process.env['RNNC_DEBUG']) process.stderr.write(`${err?.stack ?? ''}\n`);
  return EXIT.internal;
}
