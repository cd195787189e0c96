// `rnnc graph`: a model as a diagram, Graphviz text or an SVG drawn by
// vega-lite: a node per input, target and statement with its type or shape
// and its parameter count, an edge per name a statement reads.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { svgToPng } from '../../src/heatmap.js';
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
    // A misspelt --dims would silently change nothing: it names the model's dimensions (as rnnc summary does).
    const misspelt = await rnnc('graph', join(repo, 'examples', 'caption.rnn'), '--dims', 'Q=12', '-o', join(dir, 'q.svg'));
    expectUserError(misspelt, 2);
    expect(misspelt.stderr).toMatch(/--dims Q: model caption has no dimension `Q` \(its dimensions: .*K/);
    const bmp = await rnnc('graph', join(repo, 'examples', 'caption.rnn'), '-o', join(dir, 'x.bmp'));
    expectUserError(bmp, 2);
    expect(bmp.stderr).toContain('write the diagram as .dot (Graphviz), .svg, .png or .html');
    // PNG: the same drawing rasterised, its labels drawn (without them the image differs).
    const pngPath = join(dir, 'caption.png');
    expectOk(await rnnc('graph', join(repo, 'examples', 'caption.rnn'), '--dims', 'K=12', '-o', pngPath));
    const png = readFileSync(pngPath);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBeGreaterThan(400); // IHDR width
    const unlabelled = Buffer.from(await svgToPng(svg.replace(/<text[^>]*>[^<]*<\/text>/g, '')));
    expect(unlabelled.equals(png)).toBe(false);
    expect(Buffer.from(await svgToPng(svg)).equals(png)).toBe(true);
    // Into folders that do not exist yet: they are made.
    const deep = join(dir, 'new', 'deeper', 'caption.dot');
    expectOk(await rnnc('graph', join(repo, 'examples', 'caption.rnn'), '-o', deep));
    expect(readFileSync(deep, 'utf8').startsWith('digraph ')).toBe(true);
    // Writing it again replaces rnnc's own PNG; another file of that name is not replaced without --force.
    expectOk(await rnnc('graph', join(repo, 'examples', 'caption.rnn'), '--dims', 'K=12', '-o', pngPath));
    const mine = writeFile(dir, 'mine.dot', 'my notes');
    expectUserError(await rnnc('graph', join(repo, 'examples', 'caption.rnn'), '-o', mine));
    expect(readFileSync(mine, 'utf8')).toBe('my notes');
  });
});
