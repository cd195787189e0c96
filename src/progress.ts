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

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly total: number,
    private readonly quiet: boolean,
    /** What one counted position is: 'tok' for sequence losses, 'seq' for one loss per sequence. */
    private readonly unit: 'tok' | 'seq' = 'tok',
    /** Under scheduled sampling: the probability that decoders read the true token, at a step (shown as `teacher p`). */
    private readonly teacherP?: (step: number) => number,
  ) {}

  start(done: number): void {
    if (this.quiet) return;
    if (this.stream.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.stream,
          format: `epoch {epoch} |{bar}| batch {value}/{total} | step {step} | loss {loss}${this.teacherP ? ' | teacher p {teacher}' : ''} | {rate} ${this.unit}/s | ETA {eta_formatted}`,
          hideCursor: true,
          etaBuffer: 50,
          fps: 5,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(this.total, done, { epoch: '-', step: 0, loss: '-', rate: '-', teacher: '-' });
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
      this.bar.update(done, { epoch: `${s.epoch + 1}/${s.epochs}`, step: s.step, loss: this.smoothLoss.toFixed(4), rate, teacher });
      return;
    }
    const now = Date.now();
    if (now - this.lastLine >= 5000 || done === this.total || done === 1) {
      this.lastLine = now;
      const eta = rate > 0 && done > 0 ? ((this.total - done) * seconds) / done : 0;
      this.stream.write(
        `epoch ${s.epoch + 1}/${s.epochs}  batch ${done}/${this.total}  step ${s.step}  loss ${this.smoothLoss.toFixed(4)}${teacher ? `  teacher p ${teacher}` : ''}  ${rate} ${this.unit}/s  ETA ${formatSeconds(eta)}\n`,
      );
    }
  }

  stop(): void {
    this.bar?.stop();
  }
}

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
