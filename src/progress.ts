// Training progress: a live bar (step, loss, tokens/s, ETA) on a terminal,
// and plain lines every few seconds otherwise (logs, CI).
import cliProgress from 'cli-progress';
import type { StepInfo } from '../runtime/train/loop.js';

export class ProgressReporter {
  private bar: cliProgress.SingleBar | undefined;
  private lastLine = 0;
  private tokens = 0;
  private readonly began = Date.now();
  private smoothLoss = NaN;
  /** Batches already done when this process started (a resumed run): the rate and the ETA count only the batches since. */
  private startDone = 0;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly total: number,
    private readonly quiet: boolean,
    /** What one counted position is: 'tok' for sequence losses, 'seq' for one loss per sequence. */
    private readonly unit: 'tok' | 'seq' = 'tok',
    /** Under scheduled sampling: the probability that decoders read the true token, at a step (shown as `teacher p`). */
    private readonly teacherP?: (step: number) => number,
    /** Batches in one epoch: the progress line counts the batches of the current epoch. */
    private readonly perEpoch = total,
  ) {}

  /** `batch i/n` of the current epoch, from the batches done over the whole run. */
  private batchOfEpoch(done: number): string {
    const inEpoch = done === 0 ? 0 : ((done - 1) % this.perEpoch) + 1;
    return `${inEpoch}/${this.perEpoch}`;
  }

  start(done: number): void {
    this.startDone = done;
    if (this.quiet) return;
    if (this.stream.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.stream,
          format: `epoch {epoch} |{bar}| batch {batch} | step {step} | loss {loss}${this.teacherP ? ' | teacher p {teacher}' : ''} | {rate} ${this.unit}/s | ETA {eta_formatted}`,
          hideCursor: true,
          etaBuffer: 50,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(this.total, done, { epoch: '-', batch: this.batchOfEpoch(done), step: 0, loss: '-', rate: '-', teacher: '-' });
    }
  }

  update(done: number, s: StepInfo): void {
    this.tokens += s.count;
    this.smoothLoss = Number.isNaN(this.smoothLoss) ? s.loss : 0.9 * this.smoothLoss + 0.1 * s.loss;
    const seconds = (Date.now() - this.began) / 1000;
    const rate = seconds > 0 ? Math.round(this.tokens / seconds) : 0;
    if (this.quiet) return;
    const teacher = this.teacherP ? this.teacherP(s.step).toFixed(3) : '';
    if (this.bar) {
      this.bar.update(done, { epoch: `${s.epoch + 1}/${s.epochs}`, batch: this.batchOfEpoch(done), step: s.step, loss: this.smoothLoss.toFixed(4), rate, teacher });
      return;
    }
    const now = Date.now();
    if (now - this.lastLine >= 5000 || done === this.total || done === 1) {
      this.lastLine = now;
      const since = done - this.startDone;
      const eta = rate > 0 && since > 0 ? ((this.total - done) * seconds) / since : 0;
      this.stream.write(
        `epoch ${s.epoch + 1}/${s.epochs}  batch ${this.batchOfEpoch(done)}  step ${s.step}  loss ${this.smoothLoss.toFixed(4)}${teacher ? `  teacher p ${teacher}` : ''}  ${rate} ${this.unit}/s  ETA ${formatSeconds(eta)}\n`,
      );
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}

/** A duration as 42s, 3m05s or 2h07m; rounded before it is split, so 119.6 s is 2m00s, never 1m60s. */
export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(seconds / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
