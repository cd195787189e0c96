// The translating page of examples/consumer (translate-web/, over
// translator.ts and the module `rnnc compile` makes of examples/dates.rnn),
// as a user builds and opens it: a small dates model trained by `rnnc run`,
// compiled with its greedy decoding and beam search, bundled by
// build-web.mjs --page translate, served from 127.0.0.1 and opened in
// headless Chromium. A date typed into the page comes out as `rnnc
// translate` writes it for the same checkpoint, greedy and with a beam, and
// the page draws the attention weights: one row per output character, one
// column per input character, each row summing to 1. It runs on wasm, and
// on webgpu (?backend=webgpu: the module's decodeAsync and beamSearchAsync
// on Chromium's software adapter, SwiftShader).
// Without /usr/bin/chromium the page tests are skipped, and say so.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectOk, rnnc } from '../e2e/cli-harness.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const example = join(repo, 'examples', 'consumer');
const gen = join(repo, 'test', 'consumer', '.generated-translate');
const ckpt = join(gen, 'run', 'checkpoint.json');
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const dates = join(repo, 'examples', 'dates.rnn');

beforeAll(async () => {
  rmSync(gen, { recursive: true, force: true });
  mkdirSync(gen, { recursive: true });
  const trained = await rnnc('run', dates, '--backend', 'wasm', '--steps', '40', '--data-arg', 'n=640', '--data-arg', 'valid=32', '--out', join(gen, 'run'), '--quiet');
  expectOk(trained);
  // The consumer's sources next to the compiled module, as in examples/consumer.
  for (const f of ['translator.ts', 'page.ts', join('translate-web', 'main.ts'), join('translate-web', 'tsconfig.json')]) cpSync(join(example, f), join(gen, f));
  expectOk(await rnnc('compile', dates, '--ckpt', ckpt, '-o', join(gen, 'dates-model.ts')));
  // The page's code type-checks against the compiled module (tsc --strict, DOM types).
  await run(join(repo, 'node_modules', '.bin', 'tsc'), ['-p', join(gen, 'translate-web', 'tsconfig.json')], { encoding: 'utf8' }).catch((e: { stdout?: string }) => {
    throw new Error(`tsc: ${e.stdout ?? ''}`);
  });
}, 120_000);

describe('the translating page (examples/consumer/translate-web) in headless Chromium', () => {
  if (!hasChromium) console.log(`browser test: SKIPPED, ${CHROMIUM} is absent (install Debian's chromium package: apt-get install -y chromium)`);
  let server: Server | undefined;
  afterAll(() => server?.close());

  let served: { server: Server; url: string } | undefined;
  /** The page built and served once for both backends. */
  async function site(): Promise<string> {
    if (served !== undefined) return served.url;
    const out = join(gen, 'site');
    const built = await run(process.execPath, [join(example, 'build-web.mjs'), '--page', 'translate', '--ckpt', ckpt, '--model-ts', join(gen, 'dates-model.ts'), '--out', out], {
      encoding: 'utf8',
      cwd: repo,
    });
    expect(built.stdout).toContain('main.js');
    const { serveStatic } = (await import(join(example, 'serve.mjs'))) as { serveStatic: (dir: string, port?: number) => Promise<{ server: Server; url: string }> };
    served = await serveStatic(out, 0);
    server = served.server;
    return served.url;
  }

  /**
   * Opens the page on a backend and checks its translations against rnnc
   * translate; returns the backend the page says it runs on (or undefined
   * after checking). A page that asked for webgpu and fell back to cpu
   * returns its words and checks nothing.
   */
  async function checkPage(backend: 'wasm' | 'webgpu', flags: readonly string[]): Promise<string | undefined> {
    const url = await site();
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...flags] });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      await page.goto(`${url}?text=${encodeURIComponent('march 3, 1998')}${backend === 'wasm' ? '' : `&backend=${backend}`}`);
      await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 60_000 });
      expect(await page.getAttribute('body', 'data-state'), `${await page.textContent('#status')}\n${problems.join('\n')}`).toBe('done');
      const shownBackend = (await page.textContent('#backend')) ?? '';
      if (backend === 'webgpu' && shownBackend.startsWith('cpu (')) return shownBackend;
      expect(shownBackend).toBe(backend);
      for (const [text, beam] of [['march 3, 1998', '1'], ['the 21st of june 2004', '1'], ['12/05/21', '3']] as const) {
        await page.fill('input[name=text]', text);
        await page.fill('input[name=beam]', beam);
        await page.click('button[type=submit]');
        await page.waitForSelector('body[data-state="done"], body[data-state="error"]');
        expect(await page.getAttribute('body', 'data-state'), (await page.textContent('#status')) ?? '').toBe('done');
        const shown = (await page.textContent('#output')) ?? '';
        const reference = await rnnc('translate', dates, '--ckpt', ckpt, '--backend', 'wasm', '--json', '--beam', beam, text);
        expectOk(reference);
        const want = JSON.parse(reference.stdout) as { output: string; logprob: number };
        expect(shown, `${text} (beam ${beam}, ${backend})`).toBe(want.output);
        expect(Number(await page.getAttribute('#output', 'data-logprob'))).toBeCloseTo(want.logprob, 3);
        const rows = await page.$$eval('#attention tr', (trs) => trs.slice(1).map((tr) => Array.from(tr.querySelectorAll('td'), (td) => Number(td.dataset['weight']))));
        if (beam === '1') {
          // Greedy decoding shows where it looked: a row per output character, a column per input character.
          expect(rows).toHaveLength([...shown].length);
          for (const r of rows) {
            expect(r).toHaveLength([...text].length);
            expect(r.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
          }
        }
      }
      expect(problems).toEqual([]);
      return undefined;
    } finally {
      await browser.close();
    }
  }

  it.skipIf(!hasChromium)('translates typed dates as rnnc translate does, greedy and with a beam, and draws the attention', async () => {
    expect(await checkPage('wasm', ['--disable-gpu'])).toBeUndefined();
  }, 90_000);

  // Chromium's software WebGPU (SwiftShader) on a page from 127.0.0.1: the module's async decoding on the GPU backend.
  it.skipIf(!hasChromium)('translates the same on the webgpu backend (?backend=webgpu), or says why the browser offers none', async (ctx) => {
    const fellBack = await checkPage('webgpu', ['--enable-unsafe-webgpu', '--enable-features=Vulkan,WebGPU', '--use-angle=swiftshader']);
    if (fellBack !== undefined) {
      console.log(`browser test (webgpu): SKIPPED, ${fellBack}`);
      ctx.skip();
    }
  }, 180_000);
});
