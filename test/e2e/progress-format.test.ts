// The durations of the progress line (src/progress.ts formatSeconds): seconds
// are rounded before minutes and hours are split off, so 119.6 s reads 2m00s,
// never 1m60s, and 3599.5 s reads 1h00m.
import { describe, expect, it, vi } from 'vitest';
import { formatSeconds, ProgressReporter } from '../../src/progress.js';

describe('formatSeconds', () => {
  it.each([
    [0, '0s'],
    [59.4, '59s'],
    [59.6, '1m00s'],
    [119.6, '2m00s'],
    [185, '3m05s'],
    [839.7, '14m00s'],
    [3599.4, '59m59s'],
    [3599.6, '1h00m'],
    [7619, '2h07m'],
    [7199.9, '2h00m'],
  ])('%s s is %s', (s, want) => {
    expect(formatSeconds(s)).toBe(want);
  });
});

describe('the progress line', () => {
  const step = (done: number, perEpoch: number, epochs: number) => ({
    step: done,
    epoch: Math.floor((done - 1) / perEpoch),
    epochs,
    batchInEpoch: ((done - 1) % perEpoch) + 1,
    batchesPerEpoch: perEpoch,
    loss: 1,
    count: 10,
  });

  it('counts the batches of the current epoch, and after --resume takes its rate and ETA from the batches since', () => {
    vi.useFakeTimers();
    try {
      vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
      const lines: string[] = [];
      const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
      // 2 epochs of 3 batches, resumed after the first epoch.
      const p = new ProgressReporter(stream, 6, false, 'tok', undefined, 3);
      p.start(3);
      vi.advanceTimersByTime(10_000);
      p.update(4, step(4, 3, 2));
      expect(lines.at(-1)).toMatch(/^epoch 2\/2 {2}batch 1\/3 {2}step 4 /);
      // One batch in 10 s since the start, two left: 20 s (counting the resumed batches would say 5 s).
      expect(lines.at(-1)).toMatch(/ETA 20s\n$/);
      vi.advanceTimersByTime(10_000);
      p.update(6, step(6, 3, 2));
      expect(lines.at(-1)).toMatch(/^epoch 2\/2 {2}batch 3\/3 {2}step 6 .*ETA 0s\n$/);
    } finally {
      vi.useRealTimers();
    }
  });
});
