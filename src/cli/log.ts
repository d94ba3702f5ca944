/**
 * Where output goes: human lines and the progress bar on stderr, machine output (--json) on
 * stdout, so `ridgeline train --json | jq` works and a progress bar never pollutes a pipe.
 * The bar is drawn only on a TTY (cli-progress writes nothing otherwise).
 */
import { SingleBar } from 'cli-progress';
import { styleText } from 'node:util';

export interface LogOptions { quiet: boolean; json: boolean }

export class Log {
  private bar: SingleBar | null = null;

  constructor(readonly options: LogOptions, private readonly err: NodeJS.WriteStream = process.stderr,
    private readonly out: NodeJS.WriteStream = process.stdout) {}

  /** Informational line, silenced by --quiet and --json. */
  info(line: string): void {
    if (!this.options.quiet && !this.options.json) this.err.write(line + '\n');
  }

  /** A result line: shown unless --json (where the JSON carries it). */
  result(line: string): void {
    if (!this.options.json) this.err.write(line + '\n');
  }

  json(value: unknown): void {
    if (this.options.json) this.out.write(JSON.stringify(value) + '\n');
  }

  dim(s: string): string {
    return process.env.NO_COLOR ? s : styleText('dim', s);
  }

  startBar(total: number, label: string, unit = 'steps  loss {loss}'): void {
    if (this.options.quiet || this.options.json || !this.err.isTTY) return;
    this.bar = new SingleBar({
      stream: this.err, format: `${label} [{bar}] {value}/{total} ${unit}  eta {eta_formatted}`,
      hideCursor: true, clearOnComplete: true, etaBuffer: 20,
    });
    this.bar.start(total, 0, { loss: '…' });
  }

  /** Whether a progress bar is drawn (a TTY, neither --quiet nor --json). */
  get hasBar(): boolean {
    return this.bar !== null;
  }

  tick(value: number, loss?: number): void {
    this.bar?.update(value, loss === undefined ? {} : { loss: loss.toFixed(4) });
  }

  stopBar(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
