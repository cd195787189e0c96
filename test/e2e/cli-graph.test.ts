// `rnnc graph`: a model as a diagram, Graphviz text or an SVG drawn by
// vega-lite: a node per input, target and statement with its type or shape
// and its parameter count, an edge per name a statement reads.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, expectUserError, removeDir, rnnc, tempDir, writeFile } from './cli-harness.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => removeDir(dir));

describe('rnnc graph', () => {
  it('writes the model as Graphviz text: nodes with types, shapes and parameter counts, edges from what each statement reads', async () => {
    const out = join(dir, 'dates.dot');
    expectOk(await rnnc('graph', join(repo, 'examples', 'dates.rnn'), '--dims', 'V=41,K=13', '-o', out));
    const dot = readFileSync(out, 'utf8');
    expect(dot.startsWith('digraph "dates" {')).toBe(true);
    expect(dot).toContain('"src" [shape=ellipse, label="src\\nseq<token[41]>"];');
    expect(dot).toMatch(/"enc" \[shape=box, label="enc = bidir gru\(…\)\\nseq \[128\]\\n[\d,]+ parameters"\];/);
    expect(dot).toContain('"loss" [shape=doubleoctagon');
    const edges = [...dot.matchAll(/^ {2}"(\w+)" -> "(\w+)";$/gm)].map((m) => `${m[1]}->${m[2]}`);
    expect(edges.sort()).toEqual(['enc->y', 'src->enc', 'tgt->loss', 'y->loss']);
  });

  it('draws it as SVG, and says what it cannot write', async () => {
    const out = join(dir, 'caption.svg');
    expectOk(await rnnc('graph', join(repo, 'examples', 'caption.rnn'), '--dims', 'K=12', '-o', out));
    const svg = readFileSync(out, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    for (const label of ['model caption', 'c1 = relu(…)', '[7, 21, 32]', 'seq&lt;token[12]&gt;']) expect(svg, label).toContain(label);
    const png = await rnnc('graph', join(repo, 'examples', 'caption.rnn'), '-o', join(dir, 'x.png'));
    expectUserError(png, 2);
    expect(png.stderr).toContain('write the diagram as .dot (Graphviz), .svg or .html');
    const mine = writeFile(dir, 'mine.dot', 'my notes');
    expectUserError(await rnnc('graph', join(repo, 'examples', 'caption.rnn'), '-o', mine));
    expect(readFileSync(mine, 'utf8')).toBe('my notes');
  });
});
