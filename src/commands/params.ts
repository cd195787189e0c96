// `rnnc params CKPT`: a checkpoint's parameters in the JSON exchange format.
import { writeFileSync } from 'node:fs';
import { loadCheckpoint } from '../../runtime/checkpoint.js';
import { formatParamsJson } from '../../runtime/params-json.js';
import { EXIT } from '../errors.js';
import { nodeIO } from '../node-io.js';

export function paramsCommand(ckptPath: string, opts: { output?: string }): number {
  const ckpt = loadCheckpoint(nodeIO, ckptPath);
  const map = new Map(Object.entries(ckpt.params).map(([k, v]) => [k, { shape: v.shape, data: Float64Array.from(v.data) }]));
  const text = formatParamsJson(map);
  if (opts.output) nodeIO.writeTextAtomic(opts.output, text);
  else process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  void writeFileSync;
  return EXIT.ok;
}
