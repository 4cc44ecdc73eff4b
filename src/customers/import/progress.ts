import type { ImportProgress } from './index.js';

/** A one-line text progress bar for terminals (the CLI and the benchmark write it to stderr). */
export function progressLine(p: ImportProgress, width = 30): string {
  const filled = Math.round((p.percent / 100) * width);
  const rate = p.elapsedSeconds > 0 ? Math.round(p.processedRows / p.elapsedSeconds) : 0;
  const n = (v: number) => v.toLocaleString('en-US');
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.percent.toFixed(1).padStart(5)}%  ` +
    `${n(p.processedRows)} rows  +${n(p.inserted)} ~${n(p.updated)} =${n(p.unchanged)} x${n(p.rejected)}  ` +
    `${n(rate)} rows/s  ${p.elapsedSeconds.toFixed(1)}s`
  );
}

/**
 * Writes progress to a stream: redrawn in place on a terminal, else one line per `everyPercent`
 * (so a log file gets a handful of lines, not one per batch).
 */
export function progressPrinter(stream: NodeJS.WriteStream, everyPercent = 10): { update(p: ImportProgress): void; end(): void } {
  let last = -1;
  let drawn = false;
  return {
    update(p) {
      if (stream.isTTY) {
        stream.write(`\r${progressLine(p)}\x1b[K`);
        drawn = true;
      } else if (Math.floor(p.percent / everyPercent) > last) {
        last = Math.floor(p.percent / everyPercent);
        stream.write(progressLine(p) + '\n');
      }
    },
    end() {
      if (drawn) stream.write('\n');
      drawn = false;
      last = -1;
    },
  };
}
