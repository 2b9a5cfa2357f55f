/**
 * A Transform around a child process: input goes to its stdin with back-pressure, output comes
 * from its stdout (or from a Readable the spec hands over once the process has exited), and the
 * process's verdict decides whether the stream ends cleanly or with an error.
 */
import type { ChildProcess } from "node:child_process";
import { Transform, type Readable } from "node:stream";

/** What the transform needs from its owner. */
export interface ProcessSpec {
  /** Starts the process (called once, on the first write or at end of an empty input). */
  start(): Promise<ChildProcess>;
  /** Whether the process's stdout is this stream's output as it is produced. */
  readonly streamStdout: boolean;
  /**
   * Called once the process has exited. Throws the error the stream should fail with, or returns
   * a Readable whose bytes become the rest of the output (the verified spool, for decryption).
   * `early` is true when the process exited before the input ended.
   */
  finish(code: number | null, stderr: string, early: boolean): Promise<Readable | undefined>;
  /** Turns a spawn failure ('error' event, e.g. ENOENT) into the error the stream reports. */
  spawnError(err: Error): Error;
  /** Releases temporary state (home directory, spool). Called exactly once, on success or failure. */
  cleanup(): Promise<void>;
}

/** Creates the Transform. Destroying it kills the process. */
export function createProcessTransform(spec: ProcessSpec): Transform {
  let child: ChildProcess | undefined;
  let started: Promise<ChildProcess> | undefined;
  let exited: Promise<number | null> | undefined;
  let stderr = "";
  let flushing = false;
  let resume: (() => void) | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> => (cleaned ??= spec.cleanup().catch(() => undefined));

  const ensureStarted = (t: Transform): Promise<ChildProcess> =>
    (started ??= spec.start().then((c) => {
      child = c;
      c.stdin!.on("error", () => undefined);
      c.stderr!.on("data", (d: Buffer) => {
        // Bounded: status and messages for one run are small; a runaway would only lose old lines.
        stderr = (stderr + d.toString("utf8")).slice(-65536);
      });
      if (spec.streamStdout) {
        c.stdout!.on("data", (d: Buffer) => {
          if (!t.push(d)) {
            c.stdout!.pause();
            resume = () => c.stdout!.resume();
          }
        });
      } else {
        c.stdout!.resume();
      }
      exited = new Promise((resolve, reject) => {
        c.on("error", (err) => reject(spec.spawnError(err)));
        c.on("close", (code) => resolve(code));
      });
      exited.then(
        async (code) => {
          if (flushing) return;
          // The process gave up before the input ended: report its verdict now.
          const err = await spec.finish(code, stderr, true).then(
            () => new Error("process exited before the end of its input"),
            (e: unknown) => e as Error,
          );
          t.destroy(err);
        },
        (err: unknown) => t.destroy(err as Error),
      );
      return c;
    }));

  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      ensureStarted(this).then((c) => {
        const stdin = c.stdin!;
        if (stdin.destroyed || stdin.writableEnded) return cb();
        if (stdin.write(chunk)) return cb();
        const go = (): void => {
          stdin.off("drain", go);
          stdin.off("close", go);
          cb();
        };
        stdin.on("drain", go);
        stdin.on("close", go);
      }, cb);
    },
    flush(cb) {
      flushing = true;
      ensureStarted(this)
        .then(async (c) => {
          c.stdin!.end();
          const code = await exited!;
          const rest = await spec.finish(code, stderr, false);
          if (rest) {
            for await (const d of rest as AsyncIterable<Buffer>) {
              if (!this.push(d)) await new Promise<void>((r) => (resume = r));
            }
          }
        })
        .then(cleanup)
        .then(
          () => cb(),
          (err: unknown) => void cleanup().then(() => cb(err as Error)),
        );
    },
    destroy(err, cb) {
      if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      const r = resume;
      resume = undefined;
      r?.();
      void cleanup().then(() => cb(err));
    },
  });
  // Transform's own _read only releases a pending write; also wake whatever waits for the reader.
  t._read = function (size: number): void {
    const r = resume;
    resume = undefined;
    r?.();
    Transform.prototype._read.call(this, size);
  };
  return t;
}
