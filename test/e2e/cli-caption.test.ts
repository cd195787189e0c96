// Visual attention from the command line: a small captioner (convolutions,
// pooling, a decoder attending over the feature map's locations) trained by
// `rnnc run` on strips of MNIST digits, then `rnnc translate --validation`
// decoding held-out strips, giving the attention weights over the
// locations, and drawing them over the images (an SVG whose images are
// valid PNGs, opened in headless Chromium where it is installed).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greyPng, locationGrid } from '../../src/heatmap.js';
import { expectOk, expectUserError, removeDir, rnnc, tempDir, writeFile } from './cli-harness.js';

const CHROMIUM = '/usr/bin/chromium';
let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => removeDir(dir));

const PROGRAM = `
dim K
cell reader(mem: [L, D], z: [D]) -> y: token[K] {
  option start = 0
  option end = 1
  param E: [M, K]
  param S: [H, D]
  param W: [H, M + D]
  param U: [H, H]
  param b: [H]
  param W_y: [K, H + D]
  param b_y: [K]
  s[0] = tanh(S @ z)
  a[t] = attend(s[t-1], mem, additive)
  s[t] = tanh(W @ concat(E @ one_hot(y[t-1]), a[t]) + U @ s[t-1] + b)
  y[t] = W_y @ concat(s[t], a[t]) + b_y
}
model caption {
  dim H = 16, M = 4
  input  image: [28, 56, 1]
  target digits: seq<token[K]>
  f = flatten(max_pool(relu(conv2d(image, 4)), size = 4))
  y = reader(f, mean(f)) with H, M
  loss = cross_entropy(y, digits)
}
train caption {
  data mnist_strips(digits = 2, n = 48, valid = 8)
  optimizer adam(lr = 0.01)
  batch 16; epochs 1; seed 2
}`;

describe('visual attention from the command line', () => {
  it('trains a captioner on MNIST strips and reports greedy decoding', async () => {
    const file = writeFile(dir, 'caption.rnn', PROGRAM);
    const r = await rnnc('run', file, '--backend', 'cpu', '--out', join(dir, 'run'), '--quiet');
    expectOk(r);
    expect(r.stdout).toMatch(/^validation, greedy decoding: loss \d+\.\d{4} {2}accuracy \d+\.\d\d% {2}exact match \d+\.\d\d% of 8 sequences/m);
  });

  it('decodes held-out strips with their attention over the 7 x 14 locations, drawn over the images', async () => {
    const file = join(dir, 'caption.rnn');
    const ckpt = join(dir, 'run', 'checkpoint.json');
    const svg = join(dir, 'maps.svg');
    const r = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--validation', '--limit', '3', '--json', '--show-attention', '--max-len', '4', '--attention', svg);
    expectOk(r);
    expect(r.stderr).toMatch(/greedy on 3 held-out examples: exact match \d+\.\d\d%/);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { input: string; output: string; target: string; tokens: number[]; attention: Record<string, number[][]> });
    expect(rows.map((x) => x.input)).toEqual(['example 1', 'example 2', 'example 3']);
    // The true caption beside each output: the digits, without </s>.
    for (const row of rows) expect(row.target).toMatch(/^[0-9]{1,2}$/);
    for (const row of rows) {
      expect(row.tokens.length).toBeLessThanOrEqual(4);
      const w = row.attention['y.a.alpha']!;
      expect(w).toHaveLength(row.tokens.length);
      for (const step of w) {
        expect(step).toHaveLength(7 * 14);
        expect(step.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      }
    }
    const text = readFileSync(svg, 'utf8');
    expect(text.startsWith('<svg')).toBe(true);
    const images = [...text.matchAll(/href="data:image\/png;base64,([^"]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64'));
    // One image per output token (at least one drawn per example with an output).
    expect(images.length).toBe(rows.reduce((n, x) => n + x.tokens.length, 0));
    expect(images.length).toBeGreaterThan(0);
    for (const png of images) expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    if (existsSync(CHROMIUM)) {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(e.message));
        await page.goto(pathToFileURL(svg).href);
        const box = await page.locator('svg').first().boundingBox();
        expect(box!.width).toBeGreaterThan(150);
        // The strips are drawn: each <image> has the strip's aspect ratio, 56 : 28.
        const img = await page.locator('image').first().boundingBox();
        expect(img!.width / img!.height).toBeCloseTo(2, 1);
        expect(problems).toEqual([]);
      } finally {
        await browser.close();
      }
    } else console.log(`attention page: not opened, ${CHROMIUM} is absent (apt-get install -y chromium)`);
  });

  it('says what an image model can decode: held-out examples, not text', async () => {
    const file = join(dir, 'caption.rnn');
    const ckpt = join(dir, 'run', 'checkpoint.json');
    const text = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '12');
    expectUserError(text, 2);
    expect(text.stderr).toContain('reads an image [28, 56, 1] per example, not text: decode its held-out examples with --validation');
    const limit = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--limit', '2', '12');
    expectUserError(limit, 2);
    expect(limit.stderr).toContain('--limit chooses how many held-out examples --validation decodes');
  });

  it('says how it decoded: sampled outputs are not called greedy', async () => {
    const file = join(dir, 'caption.rnn');
    const ckpt = join(dir, 'run', 'checkpoint.json');
    const r = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--validation', '--limit', '1', '--sample', '--temperature', '0.5', '--seed', '4');
    expectOk(r);
    expect(r.stderr).toMatch(/sampled \(temperature 0\.5, seed 4\) on 1 held-out example: exact match/);
  });

  it('refuses settings of one way of decoding given for another (they would be ignored)', async () => {
    const file = join(dir, 'caption.rnn');
    const ckpt = join(dir, 'run', 'checkpoint.json');
    const cases: [string[], string][] = [
      [['--temperature', '0.5'], '--temperature sets how --sample draws tokens: give --sample too'],
      [['--seed', '3'], '--seed sets how --sample draws tokens'],
      [['--alpha', '0.6'], '--alpha normalises the scores of beam search: give --beam K (K > 1) too'],
      [['--beam', '1', '--alpha', '0.6'], '--alpha normalises the scores of beam search'],
    ];
    for (const [flags, message] of cases) {
      const r = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--validation', '--limit', '1', ...flags);
      expectUserError(r, 2);
      expect(r.stderr, flags.join(' ')).toContain(message);
    }
  });
});

describe('the pictures of visual attention', () => {
  it('greyPng writes a valid 8-bit grey PNG of the first channel, scaled to its range', () => {
    const [h, w, c] = [3, 5, 2];
    const image = Float32Array.from({ length: h * w * c }, (_, i) => (i % c === 0 ? i / c : -7));
    const png = greyPng({ image, height: h, width: w, channels: c });
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.readUInt32BE(8)).toBe(13);
    expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]]).toEqual([w, h, 8, 0]);
    const idatLength = png.readUInt32BE(33);
    expect(png.subarray(37, 41).toString('ascii')).toBe('IDAT');
    const raw = inflateSync(png.subarray(41, 41 + idatLength));
    expect(raw.length).toBe(h * (w + 1));
    // Row filter 0, then the pixels 0..14 scaled to 0..255.
    expect(raw[0]).toBe(0);
    expect([...raw.subarray(1, 1 + w)]).toEqual([0, 1, 2, 3, 4].map((v) => Math.round((255 * v) / 14)));
    expect(raw[raw.length - 1]).toBe(255);
    expect(png.subarray(-8, -4).toString('ascii')).toBe('IEND');
    // The CRC of IEND (no data) is the well-known AE 42 60 82.
    expect([...png.subarray(-4)]).toEqual([0xae, 0x42, 0x60, 0x82]);
  });

  it('locationGrid finds the pooled grid of a feature map', () => {
    expect(locationGrid(28, 84, 7 * 21)).toEqual([7, 21]);
    expect(locationGrid(28, 56, 7 * 14)).toEqual([7, 14]);
    expect(locationGrid(7, 9, 3 * 4)).toEqual([3, 4]);
    expect(locationGrid(28, 84, 28 * 84)).toEqual([28, 84]);
    expect(locationGrid(5, 5, 7)).toEqual([1, 7]);
  });
});
