// `rnnc params CKPT`: a checkpoint's parameters in the JSON exchange format.
import { loadCheckpoint } from '../../runtime/checkpoint.js';
import { formatParamsJson, parseParamsJson } from '../../runtime/params-json.js';
import { EXIT } from '../errors.js';
import { nodeIO } from '../node-io.js';
import { checkOutput, type OutputKind } from '../output-file.js';

/** What `rnnc params -o` may replace without --force: a file that reads as parameters. */
const paramsFile: OutputKind = {
  what: 'a parameters file (rnnc params)',
  isOwn: (text) => {
    try {
      parseParamsJson(text, 'output');
      return true;
    } catch {
      return false;
    }
  },
};

export function paramsCommand(ckptPath: string, opts: { output?: string; force?: boolean }): number {
  if (opts.output) checkOutput(opts.output, { inputs: [ckptPath], kind: paramsFile, force: opts.force ?? false });
  const ckpt = loadCheckpoint(nodeIO, ckptPath);
  const map = new Map(Object.entries(ckpt.params).map(([k, v]) => [k, { shape: v.shape, data: Float64Array.from(v.data) }]));
  const text = formatParamsJson(map);
  if (opts.output) nodeIO.writeTextAtomic(opts.output, text);
  else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return EXIT.ok;
}
