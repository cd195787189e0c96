// examples/consumer end to end, as a user runs it: a tiny char LM trained by
// `rnnc run` (the CLI's main(), in this process), compiled by `rnnc compile`,
// then
//   - the Node program (examples/consumer/sample.ts, built with the project's
//     tsc against the compiled module) prints the same text as `rnnc sample`
//     for the same checkpoint, prime, temperature, length and seed: both use
//     the same generator (xoshiro128**) and the same sampling walk, so equal
//     text means the compiled forward gave the same distributions, step by step;
//   - the web page (examples/consumer/build-web.mjs: esbuild bundle, wasm
//     backend) served from 127.0.0.1 and opened in headless Chromium
//     (Debian's package at /usr/bin/chromium, driven by playwright-core)
//     shows that same text and says which backend it ran on. Without
//     /usr/bin/chromium that test is skipped, and says so.
//
// Everything built goes to test/consumer/.generated/ (git-ignored; not
// test/.generated/, which the codegen tests empty while they run).
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webgpuAdapter } from '../../runtime/backend.js';
import { expectOk, readCheckpoint, rnnc } from '../e2e/cli-harness.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const example = join(repo, 'examples', 'consumer');
const gen = join(repo, 'test', 'consumer', '.generated');
const ckpt = join(gen, 'run', 'checkpoint.json');
const tsc = join(repo, 'node_modules', '.bin', 'tsc');
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

const SAMPLE = { prime: 'The ', temperature: '0.7', length: '80', seed: '7' };

const gpuProbe = await webgpuAdapter();
const gpuAdapter = typeof gpuProbe === 'string' ? undefined : gpuProbe;
const gpuMissing = typeof gpuProbe === 'string' ? gpuProbe : '';

let vocab: string[] = [];

/** Whether `text` is made only of vocabulary tokens (single characters, and `<unk>` when the vocabulary has it). */
function madeOfVocabulary(text: string): boolean {
  const rest = vocab.includes('<unk>') ? text.split('<unk>').join('') : text;
  return [...rest].every((ch) => vocab.includes(ch));
}

async function tscBuild(project: string): Promise<void> {
  try {
    await run(tsc, ['-p', project], { encoding: 'utf8' });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`tsc -p ${project} failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

beforeAll(async () => {
  rmSync(gen, { recursive: true, force: true });
  mkdirSync(gen, { recursive: true });
  // A tiny char LM: 5000 characters of the Brown corpus, 20 optimizer steps (flags override the train block).
  const trained = await rnnc(
    'run', join(repo, 'examples', 'charlm.rnn'), '--model', 'charlm_rnn', '--backend', 'wasm',
    '--epochs', '10', '--steps', '20', '--data-arg', 'max_chars=5000', '--out', join(gen, 'run'), '--quiet',
  );
  expectOk(trained);
  // The consumer's sources next to the compiled module, as in examples/consumer.
  for (const f of ['lm.ts', 'sample.ts', 'page.ts', 'tsconfig.json', join('web', 'main.ts'), join('web', 'tsconfig.json')]) cpSync(join(example, f), join(gen, f));
  const compiled = await rnnc(
    'compile', join(repo, 'examples', 'charlm.rnn'), '--model', 'charlm_rnn', '--ckpt', ckpt, '--target', 'forward', '-o', join(gen, 'model.ts'),
  );
  expectOk(compiled);
  await Promise.all([tscBuild(join(gen, 'tsconfig.json')), tscBuild(join(gen, 'web', 'tsconfig.json'))]);
  const extra = readCheckpoint(ckpt)['extra'] as { vocabs: { inputs: { tokens: string[] }[] } };
  vocab = extra.vocabs.inputs[0]!.tokens;
}, 60_000);

describe('the trained checkpoint', () => {
  it('ran the 20 steps asked for (the flags override the train block) and stores a character vocabulary', () => {
    expect(readCheckpoint(ckpt).step).toBe(20);
    expect(vocab.length).toBeGreaterThan(20);
    expect(vocab.filter((t) => t !== '<unk>').every((t) => [...t].length === 1)).toBe(true);
  });
});

describe('the Node consumer (examples/consumer/sample.ts)', () => {
  it('imports only the compiled module, tfjs-core, a backend and node: modules (not rnnc)', () => {
    for (const f of ['sample.ts', 'lm.ts', join('web', 'main.ts')]) {
      const specifiers = [...readFileSync(join(example, f), 'utf8').matchAll(/^import\s[^;]*?['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
      expect(specifiers.length).toBeGreaterThan(0);
      for (const s of specifiers) expect(s, `${f} imports ${s}`).toMatch(/^(\.\/model\.js|\.\.\/model\.js|\.\/lm\.js|\.\.\/lm\.js|\.\.\/page\.js|@tensorflow\/tfjs-(core|backend-cpu|backend-wasm)|node:.*)$/);
    }
  });

  const cases = [
    { ...SAMPLE, backend: 'wasm' },
    { prime: '', temperature: '1.3', length: '60', seed: '11', backend: 'wasm' },
    { prime: 'In the ', temperature: '0.5', length: '40', seed: '2', backend: 'cpu' },
    // The compiled module unchanged on the webgpu backend (Dawn; lavapipe without a GPU), where an adapter exists.
    ...(gpuAdapter === undefined ? [] : [{ prime: 'The ', temperature: '0.9', length: '30', seed: '5', backend: 'webgpu' }]),
  ];
  if (gpuAdapter === undefined) console.log(`node consumer on webgpu: SKIPPED, ${gpuMissing}`);
  for (const c of cases) {
    it(`prints the same text as rnnc sample (prime ${JSON.stringify(c.prime)}, temperature ${c.temperature}, seed ${c.seed}, ${c.backend})`, async () => {
      const flags = ['--prime', c.prime, '--temperature', c.temperature, '--length', c.length, '--seed', c.seed, '--backend', c.backend];
      const consumer = await run(process.execPath, [join(gen, 'dist', 'sample.js'), '--ckpt', ckpt, ...flags], { encoding: 'utf8', cwd: repo });
      const reference = await rnnc('sample', join(repo, 'examples', 'charlm.rnn'), '--model', 'charlm_rnn', '--ckpt', ckpt, ...flags);
      expectOk(reference);
      expect(consumer.stderr).toContain(`backend: ${c.backend}`);
      expect(consumer.stdout.endsWith('\n')).toBe(true);
      const text = consumer.stdout.slice(0, -1);
      expect(text.startsWith(c.prime)).toBe(true);
      const generated = text.slice(c.prime.length);
      expect(generated.length).toBeGreaterThanOrEqual(Number(c.length));
      expect(madeOfVocabulary(generated), JSON.stringify(generated)).toBe(true);
      expect(consumer.stdout).toBe(reference.stdout);
      if (c === cases[0]) console.log(`node consumer (${c.backend}, seed ${c.seed}): ${JSON.stringify(text)}`);
    });
  }

  it('says what is wrong when the checkpoint does not match the compiled module', async () => {
    const bad = join(gen, 'bad.json');
    const ck = readCheckpoint(ckpt);
    const extra = ck['extra'] as { vocabs: { inputs: { tokens: string[] }[] } };
    extra.vocabs.inputs[0]!.tokens = extra.vocabs.inputs[0]!.tokens.slice(0, 10);
    writeFileSync(bad, JSON.stringify(ck));
    const r = await run(process.execPath, [join(gen, 'dist', 'sample.js'), '--ckpt', bad], { encoding: 'utf8' }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/vocabulary has 10 characters but model\.ts was compiled for V = \d+/);
  });
});

describe('the web page (examples/consumer/web) in headless Chromium', () => {
  if (hasChromium) console.log(`browser test: runs (${CHROMIUM} is installed)`);
  else console.log(`browser test: SKIPPED, ${CHROMIUM} is absent (install Debian's chromium package: apt-get install -y chromium)`);

  let served: { server: Server; url: string } | undefined;
  afterAll(() => served?.server.close());

  /** The page built and served once for both backends. */
  async function site(): Promise<string> {
    if (served) return served.url;
    const dir = join(gen, 'web-dist');
    const built = await run(
      process.execPath,
      [join(example, 'build-web.mjs'), '--ckpt', ckpt, '--model-ts', join(gen, 'model.ts'), '--out', dir],
      { encoding: 'utf8', cwd: repo },
    );
    expect(built.stdout).toContain('main.js');
    for (const f of ['index.html', 'main.js', 'checkpoint.json', 'tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) expect(existsSync(join(dir, f)), f).toBe(true);
    const { serveStatic } = (await import(join(example, 'serve.mjs'))) as {
      serveStatic: (dir: string, port?: number) => Promise<{ server: Server; url: string }>;
    };
    served = await serveStatic(dir, 0);
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    return served.url;
  }

  /**
   * Opens the page with the sampling settings and `?backend=`; its state,
   * status, backend line, text, and the errors and warnings it logged.
   */
  async function openPage(backend: string, args: readonly string[]): Promise<{ state: string | null; status: string; backend: string | null; text: string; problems: string[] }> {
    const url = await site();
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...args] });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      const query = new URLSearchParams({ ...SAMPLE, backend }).toString();
      await page.goto(`${url}?${query}`);
      await page.waitForSelector('body[data-state="done"], body[data-state="error"]', { timeout: 120_000 });
      return {
        state: await page.getAttribute('body', 'data-state'),
        status: (await page.textContent('#status')) ?? '',
        backend: await page.textContent('#backend'),
        text: (await page.textContent('#sample')) ?? '',
        problems,
      };
    } finally {
      await browser.close();
    }
  }

  /** What `rnnc sample` prints for the page's settings (the first Node case's): the text the page must show. */
  async function reference(): Promise<string> {
    const r = await rnnc('sample', join(repo, 'examples', 'charlm.rnn'), '--model', 'charlm_rnn', '--ckpt', ckpt, '--backend', 'wasm',
      '--prime', SAMPLE.prime, '--temperature', SAMPLE.temperature, '--length', SAMPLE.length, '--seed', SAMPLE.seed);
    expectOk(r);
    return r.stdout;
  }

  function expectSample(text: string): void {
    expect(text.startsWith(SAMPLE.prime)).toBe(true);
    const generated = text.slice(SAMPLE.prime.length);
    expect(generated.length).toBeGreaterThanOrEqual(Number(SAMPLE.length));
    expect(madeOfVocabulary(generated), JSON.stringify(generated)).toBe(true);
  }

  it.skipIf(!hasChromium)('samples the same text on the wasm backend and shows it', async () => {
    const r = await openPage('wasm', ['--disable-gpu']);
    expect(r.state, `${r.status}\n${r.problems.join('\n')}`).toBe('done');
    console.log(`browser test: backend ${r.backend}; ${r.status}; sample ${JSON.stringify(r.text)}`);
    expect(r.backend).toBe('wasm');
    expect(r.problems).toEqual([]);
    expectSample(r.text);
    // The same checkpoint, prime, temperature, length and seed as the first Node case: the same text.
    expect(`${r.text}\n`).toBe(await reference());
  }, 120_000);

  // Chromium's software WebGPU (SwiftShader) on a page from 127.0.0.1 (a secure context); README "Set-up".
  it.skipIf(!hasChromium)('samples the same text on the webgpu backend (?backend=webgpu), or says why the browser offers none', async (ctx) => {
    const r = await openPage('webgpu', ['--enable-unsafe-webgpu', '--enable-features=Vulkan,WebGPU', '--use-angle=swiftshader']);
    expect(r.state, `${r.status}\n${r.problems.join('\n')}`).toBe('done');
    console.log(`browser test (webgpu): backend ${r.backend}; ${r.status}`);
    if (r.backend?.startsWith('cpu (')) {
      // The page fell back and said why: no adapter in this browser; nothing to compare on webgpu.
      console.log(`browser test (webgpu): SKIPPED, ${r.backend}`);
      ctx.skip();
    }
    expect(r.backend).toBe('webgpu');
    expect(r.problems).toEqual([]);
    expectSample(r.text);
    expect(`${r.text}\n`).toBe(await reference());
  }, 180_000);
});
