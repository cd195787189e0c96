// An encoder-decoder trained by `rnnc run` on the reversal task: the
// validation metrics with teacher forcing and with greedy decoding, the
// scheduled-sampling probability in metrics.jsonl, and a resumed run that
// tosses the same coins and draws the same tokens as an uninterrupted one.
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionSeq2seq } from '../helpers/programs.js';
import { expectOk, expectUserError, readCheckpoint, readMetrics, removeDir, rnnc, tempDir, writeFile } from './cli-harness.js';

const CHROMIUM = '/usr/bin/chromium';
let dir: string;
beforeAll(() => {
  dir = tempDir();
});
afterAll(() => removeDir(dir));

const program = (feed: string): string =>
  attentionSeq2seq('additive', {}, `train m {
  data reversal(symbols = 5, min_len = 2, max_len = 5, n = 64, valid = 16)
  optimizer adam(lr = 0.01)
  ${feed}
  batch 8; epochs 2; seed 3
}`).replace('dim V = 6,', 'dim V,');

describe('rnnc run on an encoder-decoder', () => {
  it('reports validation with teacher forcing and with greedy decoding, and logs the probability of the true token', async () => {
    const file = writeFile(dir, 'ss.rnn', program('feed scheduled(decay = linear, k = 1, c = 0.1, eps = 0.2, draw = sample)'));
    const out = join(dir, 'ss');
    const r = await rnnc('run', file, '--backend', 'cpu', '--out', out, '--quiet');
    expectOk(r);
    expect(r.stdout).toMatch(/^validation, teacher forcing: loss \d+\.\d{4} {2}accuracy \d+\.\d\d% {2}exact match \d+\.\d\d% of 16 sequences {2}\(\d+ tokens\)$/m);
    expect(r.stdout).toMatch(/^validation, greedy decoding: loss \d+\.\d{4} {2}accuracy \d+\.\d\d% {2}exact match \d+\.\d\d% of 16 sequences/m);
    const train = readMetrics(out).filter((m) => m.kind === 'train');
    expect(train).toHaveLength(16);
    // linear decay: max(eps, k - c i) at update i = step - 1
    expect(train.map((m) => m['teacher_p'])).toEqual(train.map((m) => Math.max(0.2, 1 - 0.1 * ((m.step as number) - 1))));
    // After epoch 1, teacher forcing; at the end, teacher forcing and greedy decoding.
    const evals = readMetrics(out).filter((m) => m.kind === 'eval');
    expect(evals.map((m) => [m['epoch'], m['feed']])).toEqual([[1, undefined], [undefined, undefined], [undefined, 'greedy']]);
  });

  it('translates new inputs: greedy and beam, text or JSON, with clear errors', async () => {
    const file = join(dir, 'ss.rnn');
    const ckpt = join(dir, 'ss', 'checkpoint.json');
    const greedy = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '1234', '21');
    expectOk(greedy);
    const outs = greedy.stdout.trim().split('\n');
    expect(outs).toHaveLength(2);
    expect(outs.map((o) => o.length)).toEqual([4, 2]);
    expect(outs.every((o) => /^[0-4]+$/.test(o))).toBe(true);
    const json = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--json', '--beam', '1', '1234', '21');
    expectOk(json);
    const rows = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { input: string; output: string; tokens: number[]; logprob: number });
    expect(rows.map((r) => r.output)).toEqual(outs);
    expect(rows[0]!.input).toBe('1234');
    expect(rows[0]!.logprob).toBeLessThan(0);
    const beam = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--json', '--beam', '4', '1234', '21');
    expectOk(beam);
    const beamRows = beam.stdout.trim().split('\n').map((l) => JSON.parse(l) as { logprob: number });
    beamRows.forEach((r, i) => expect(r.logprob).toBeGreaterThanOrEqual(rows[i]!.logprob - 1e-6));
    const input = writeFile(dir, 'inputs.txt', '1234\n21\n');
    const fromFile = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--input', input);
    expect(fromFile.stdout).toBe(greedy.stdout);
    // An empty line is an error at its line (skipping it would misalign outputs and inputs).
    const blank = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--input', writeFile(dir, 'blank.txt', '1234\n\n21\n'));
    expectUserError(blank);
    expect(blank.stderr).toContain('blank.txt:2: nothing to translate (an empty input)');
    expectUserError(await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--show-attention', '12'), 2);

    const unknown = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '12x4');
    expectUserError(unknown);
    expect(unknown.stderr).toContain('"12x4": "x" is not in the vocabulary');
    const badLine = writeFile(dir, 'bad.txt', '12\n9\n');
    const fileError = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--input', badLine);
    expectUserError(fileError);
    expect(fileError.stderr).toContain(`${badLine}:2: "9" is not in the vocabulary`);
  });

  it('shows the attention weights: in the JSON lines, and as heat maps (SVG, HTML)', async () => {
    const file = join(dir, 'ss.rnn');
    const ckpt = join(dir, 'ss', 'checkpoint.json');
    const svg = join(dir, 'att.svg');
    const r = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--json', '--show-attention', '--attention', svg, '1234', '21');
    expectOk(r);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { output: string; attention: Record<string, number[][]> });
    expect(Object.keys(rows[0]!.attention)).toEqual(['y.c.alpha']);
    rows.forEach((row, i) => {
      const w = row.attention['y.c.alpha']!;
      expect(w).toHaveLength(row.output.length);
      for (const step of w) {
        expect(step).toHaveLength([4, 2][i]!);
        expect(step.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      }
    });
    const text = readFileSync(svg, 'utf8');
    expect(text.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(text.trimEnd().endsWith('</svg>')).toBe(true);
    expect(text).toContain(`1: 1234 -&gt; ${rows[0]!.output}`);
    expect((text.match(/<path /g) ?? []).length).toBeGreaterThan(4 * 4 + 2 * 2);
    const html = join(dir, 'att.html');
    expectOk(await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--attention', html, '1234'));
    expect(readFileSync(html, 'utf8')).toMatch(/^<!doctype html>[\s\S]*<svg[\s\S]*<\/svg>[\s\S]*<\/html>\n$/);
    if (existsSync(CHROMIUM)) {
      // The page as a browser shows it: no errors, the heat map drawn at its size with its labels.
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(e.message));
        await page.goto(pathToFileURL(html).href);
        const box = await page.locator('svg').boundingBox();
        expect(box!.width).toBeGreaterThan(100);
        expect(box!.height).toBeGreaterThan(100);
        expect(await page.locator('svg text', { hasText: 'attention' }).count()).toBeGreaterThan(0);
        expect(problems).toEqual([]);
      } finally {
        await browser.close();
      }
    } else console.log(`heat map page: not opened, ${CHROMIUM} is absent (apt-get install -y chromium)`);
    // Run again over its own output: allowed; over another file: refused; PNG: not offered.
    expectOk(await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--attention', svg, '1234'));
    const mine = writeFile(dir, 'mine.svg', '<svg>mine</svg>');
    expectUserError(await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--attention', mine, '1234'));
    expect(readFileSync(mine, 'utf8')).toBe('<svg>mine</svg>');
    const gif = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--attention', join(dir, 'a.gif'), '1234');
    expectUserError(gif, 2);
    expect(gif.stderr).toContain('write the heat map as .svg, .png or .html');
    expectOk(await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--attention', join(dir, 'a.png'), '1234'));
    expect(readFileSync(join(dir, 'a.png')).subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('resumes exactly: the same coins and draws as an uninterrupted run', async () => {
    const file = writeFile(dir, 'resume.rnn', program('feed scheduled(decay = inverse_sigmoid, k = 3)'));
    const run = async (out: string, steps: number, resume?: string) => {
      const r = await rnnc('run', file, '--backend', 'cpu', '--steps', String(steps), '--out', join(dir, out), '--quiet', ...(resume ? ['--resume', resume] : []));
      expectOk(r);
      return readCheckpoint(join(dir, out, 'checkpoint.json'));
    };
    const whole = await run('whole', 12);
    await run('part', 5);
    const resumed = await run('resumed', 12, join(dir, 'part', 'checkpoint.json'));
    for (const [name, t] of Object.entries(whole.params)) expect(resumed.params[name]!.data, name).toEqual(t.data);
    const wholeLog = readMetrics(join(dir, 'whole')).filter((m) => m.kind === 'train');
    const resumedLog = readMetrics(join(dir, 'resumed')).filter((m) => m.kind === 'train');
    expect(resumedLog.map((m) => [m.step, m.loss, m['teacher_p']])).toEqual(wholeLog.slice(5).map((m) => [m.step, m.loss, m['teacher_p']]));
  });

  it('refuses `feed` for a model without a decoder (RNN5008)', async () => {
    const file = writeFile(
      dir,
      'nodec.rnn',
      `model m { dim V, H = 4; input x: seq<token[V]>; target y: seq<token[V]>; h = gru(embed(x, 3)) with H; loss = cross_entropy(dense(h, V), y) }
train m { data reversal(n = 8, valid = 0); feed sampled }`,
    );
    const r = await rnnc('run', file, '--backend', 'cpu', '--quiet');
    expectUserError(r);
    expect(r.stderr).toContain('error RNN5008: `feed` chooses what a decoder reads back, but model `m` has no decoder');
  });
});

describe('an encoder-decoder whose outputs have lengths of their own (dates)', () => {
  it('trains on targets longer or shorter than the inputs and translates up to the end token', async () => {
    const file = writeFile(
      dir,
      'dates.rnn',
      attentionSeq2seq('additive', {}, `train m {
  data dates(n = 48, valid = 8)
  optimizer adam(lr = 0.01)
  batch 8; epochs 1; seed 2
}`)
        .replace('dim V = 6,', 'dim V, K,')
        .replace('target tgt: seq<token[V]>', 'target tgt: seq<token[K]>')
        .replace('option start = 0', 'option start = 0\n  option end = 1'),
    );
    const out = join(dir, 'dates');
    const r = await rnnc('run', file, '--backend', 'cpu', '--out', out, '--quiet');
    expectOk(r);
    expect(r.stdout).toMatch(/validation, greedy decoding: .* of 8 sequences {2}\(88 tokens\)/);
    const ckpt = join(out, 'checkpoint.json');
    const t = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--json', 'the 3rd of march 1998', '1/2/03');
    expectOk(t);
    const rows = t.stdout.trim().split('\n').map((l) => JSON.parse(l) as { output: string; tokens: number[] });
    for (const row of rows) {
      expect(row.tokens.length).toBeLessThanOrEqual(100);
      expect(row.tokens).not.toContain(1); // the end token ends an output and is not part of it
      expect(row.output).toMatch(/^[-0-9]*$/);
    }
    const capped = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--json', '--max-len', '3', 'the 3rd of march 1998');
    expectOk(capped);
    expect((JSON.parse(capped.stdout.trim()) as { tokens: number[] }).tokens.length).toBeLessThanOrEqual(3);
    const beam = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--beam', '3', '--alpha', '0.6', 'the 3rd of march 1998');
    expectOk(beam);
    // The held-out dates, scored against their targets: greedy agrees with rnnc run's greedy evaluation.
    // Sampling: the same draws for the same seed, others for another seed; not with a beam.
    const sample = (seed: string) => rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--sample', '--temperature', '2', '--seed', seed, 'the 3rd of march 1998', '1/2/03', 'may 5 77');
    const [s1, s1again, s2] = [await sample('1'), await sample('1'), await sample('2')];
    expectOk(s1);
    expect(s1again.stdout).toBe(s1.stdout);
    expect(s2.stdout).not.toBe(s1.stdout);
    expectUserError(await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--sample', '--beam', '2', 'x'), 2);
    const held = await rnnc('translate', file, '--ckpt', ckpt, '--backend', 'cpu', '--validation');
    expectOk(held);
    expect(held.stdout.trim().split('\n')).toHaveLength(8);
    const exact = /greedy on 8 held-out examples: exact match (\d+\.\d\d)%, token accuracy \d+\.\d\d%/.exec(held.stderr);
    expect(exact).not.toBeNull();
    expect(r.stdout).toContain(`validation, greedy decoding: loss`);
    expect(r.stdout).toContain(`exact match ${exact![1]}% of 8 sequences`);
  });
});
