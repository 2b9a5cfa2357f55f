/**
 * A one-line progress display for long work, drawn on stderr only when it is a TTY (never in
 * logs, pipes or --json runs). Rate and ETA come from bytes; documents are shown when known.
 */
import { formatDuration, SECOND } from "../config/duration.js";

export interface Progress {
  /** Adds work done. `total` may be learnt late (e.g. after a HEAD request). */
  update(delta: { bytes?: number; documents?: number; total?: number; label?: string }): void;
  /** Prints a permanent line above the bar (e.g. a finished namespace). */
  log(line: string): void;
  /** Clears the bar. */
  done(): void;
}

/** Creates a Progress for `label`; a no-op unless `enabled` and stderr is a TTY. */
export function createProgress(label: string, enabled: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled || !stream.isTTY) return { update() {}, log() {}, done() {} };
  const start = Date.now();
  let bytes = 0;
  let documents = 0;
  let total: number | undefined;
  let current = label;
  let last = 0;
  const draw = (force = false): void => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    const secs = Math.max((now - start) / 1000, 0.001);
    const rate = bytes / secs;
    const width = 24;
    let bar = "";
    let eta = "";
    if (total && total > 0) {
      const frac = Math.min(bytes / total, 1);
      const filled = Math.round(frac * width);
      bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% `;
      if (rate > 0) eta = ` ETA ${formatDuration(((total - bytes) / rate) * SECOND, { parts: 2 })}`;
    }
    const docs = documents > 0 ? ` ${documents.toLocaleString("en-US")} docs` : "";
    const line = `${current} ${bar}${formatBytes(bytes)}${docs} ${formatBytes(rate)}/s${eta}`;
    stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 100) - 1)}`);
  };
  return {
    update(d) {
      bytes += d.bytes ?? 0;
      documents += d.documents ?? 0;
      if (d.total !== undefined) total = d.total;
      if (d.label) current = d.label;
      draw();
    },
    log(line) {
      stream.write(`\r\x1b[2K${line}\n`);
      draw(true);
    },
    done() {
      stream.write("\r\x1b[2K");
    },
  };
}

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}
