// `rnnc plot` and `rnnc run --plot`: training curves from metrics.jsonl, one
// or several runs overlaid, drawn as SVG (or an HTML page) by vega-lite; the
// picture is checked for its series and run names, and opened in headless
// Chromium where it is installed. Bad files get errors naming file and line.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLabels } from '../../src/commands/plot.js';
import { abcDir, expectOk, expectUserError, removeDir, rnnc, writeAbcLm, writeFile } from './cli-harness.js';

const CHROMIUM = '/usr/bin/chromium';
let dir: string;
beforeAll(() => {
  dir = abcDir();
});
afterAll(() => removeDir(dir));

describe('rnnc plot', () => {
  it('run --plot draws the run\'s curves at the end; plot overlays several runs', async () => {
    const a = writeAbcLm(dir, 'a.rnn', { seed: 1 });
    const b = writeAbcLm(dir, 'b.rnn', { seed: 2 });
    const svg = join(dir, 'a.svg');
    const ra = await rnnc('run', a, '--backend', 'cpu', '--out', join(dir, 'run-a'), '--quiet', '--plot', svg);
    expectOk(ra);
    expect(ra.stderr).toContain(`curves of 1 run: ${svg}`);
    const one = readFileSync(svg, 'utf8');
    expect(one.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    for (const label of ['loss', 'optimizer step', 'run-a', 'validation']) expect(one, label).toContain(label);
    expectOk(await rnnc('run', b, '--backend', 'cpu', '--out', join(dir, 'run-b'), '--quiet'));
    const both = join(dir, 'both.html');
    const r = await rnnc('plot', join(dir, 'run-a', 'metrics.jsonl'), join(dir, 'run-b', 'metrics.jsonl'), '-o', both);
    expectOk(r);
    const page = readFileSync(both, 'utf8');
    expect(page).toMatch(/^<!doctype html>[\s\S]*<title>curves<\/title>[\s\S]*<svg[\s\S]*<\/svg>/);
    for (const run of ['run-a', 'run-b']) expect(page).toContain(run);
    // As PNG: the same picture, rasterised.
    const png = join(dir, 'both.png');
    expectOk(await rnnc('plot', join(dir, 'run-a', 'metrics.jsonl'), join(dir, 'run-b', 'metrics.jsonl'), '-o', png));
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(bytes.readUInt32BE(16)).toBeGreaterThan(400);
    // The training loss is a line per run: two paths of the line mark's class.
    expect((page.match(/class="mark-line role-mark/g) ?? []).length).toBeGreaterThanOrEqual(1);
    if (existsSync(CHROMIUM)) {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
      try {
        const p = await browser.newPage();
        const problems: string[] = [];
        p.on('pageerror', (e) => problems.push(e.message));
        await p.goto(pathToFileURL(both).href);
        const box = await p.locator('svg').first().boundingBox();
        expect(box!.width).toBeGreaterThan(300);
        expect(await p.locator('svg text', { hasText: 'run-b' }).count()).toBeGreaterThan(0);
        expect(problems).toEqual([]);
      } finally {
        await browser.close();
      }
    } else console.log(`curves page: not opened, ${CHROMIUM} is absent (apt-get install -y chromium)`);
  });

  it('names runs by their folders, with the folders above where two are called the same', () => {
    expect(runLabels(['runs/a/metrics.jsonl', 'runs/b/metrics.jsonl'])).toEqual(['a', 'b']);
    expect(runLabels(['x/lstm/metrics.jsonl', 'y/lstm/metrics.jsonl', 'z/gru/metrics.jsonl'])).toEqual(['x/lstm', 'y/lstm', 'gru']);
    expect(runLabels(['r/m.jsonl', 'r/m.jsonl'])).toEqual(['m.jsonl', 'm.jsonl (2)']);
  });

  it('says what is wrong with a file, and refuses what it must not overwrite', async () => {
    const bad = writeFile(dir, 'bad.jsonl', '{"kind":"train","step":1,"loss":2}\nnot json\n');
    const r1 = await rnnc('plot', bad, '-o', join(dir, 'x.svg'));
    expectUserError(r1);
    expect(r1.stderr).toContain(`${bad}:2: not a JSON object`);
    const noTrain = writeFile(dir, 'eval.jsonl', '{"kind":"eval","step":3,"loss":1}\n');
    const r2 = await rnnc('plot', noTrain, '-o', join(dir, 'x.svg'));
    expectUserError(r2);
    expect(r2.stderr).toContain('no training steps');
    const missing = await rnnc('plot', join(dir, 'nope.jsonl'), '-o', join(dir, 'x.svg'));
    expectUserError(missing);
    const gif = await rnnc('plot', bad, '-o', join(dir, 'x.gif'));
    expectUserError(gif, 2);
    expect(gif.stderr).toContain('as .svg, .png or .html');
    const mine = writeFile(dir, 'mine.svg', '<svg>mine</svg>');
    const good = writeFile(dir, 'good.jsonl', '{"kind":"train","step":1,"loss":2}\n{"kind":"train","step":2,"loss":1.5}\n');
    expectUserError(await rnnc('plot', good, '-o', mine));
    expect(readFileSync(mine, 'utf8')).toBe('<svg>mine</svg>');
    expectOk(await rnnc('plot', good, '-o', mine, '--force'));
    // A bad --plot path stops rnnc run before it trains.
    const a = join(dir, 'a.rnn');
    const early = await rnnc('run', a, '--backend', 'cpu', '--out', join(dir, 'run-c'), '--quiet', '--plot', join(dir, 'c.gif'));
    expectUserError(early, 2);
    expect(existsSync(join(dir, 'run-c', 'checkpoint.json'))).toBe(false);
  });
});
