/**
 * Measures the gzip stage alone on demo data: our parallel gzip with 1 and 2 workers (and
 * optionally other block sizes) against `gzip -1` on the same file. A measurement script, not a
 * test: `npm run build && node dist/test/bench/gzip-stage.bench.js` (BENCH_BYTES, default 256 MiB).
 */
import { spawnSync } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzipStream } from "../../runtime/src/compression/gzip.js";
import { demoCollections } from "../../runtime/src/demo/dataset.js";

const MiB = 1024 * 1024;
const bytes = Number(process.env.BENCH_BYTES ?? 256 * MiB);

async function writeDemoDocuments(file: string): Promise<void> {
  async function* all(): AsyncGenerator<Uint8Array> {
    for (const { documents } of demoCollections({ targetBytes: bytes, seed: 7 })) yield* documents;
  }
  await pipeline(all(), createWriteStream(file));
}

async function ours(file: string, workers: number, blockSize: number): Promise<{ seconds: number; out: number }> {
  let out = 0;
  const start = process.hrtime.bigint();
  await pipeline(
    createReadStream(file, { highWaterMark: 256 * 1024 }),
    createGzipStream({ level: 1, workers, blockSize }),
    new Writable({
      write(chunk: Buffer, _e, cb) {
        out += chunk.length;
        cb();
      },
    }),
  );
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, out };
}

function shellGzip(file: string): { seconds: number; out: number } | undefined {
  const start = process.hrtime.bigint();
  const r = spawnSync("bash", ["-c", `gzip -1 -c "$1" | wc -c`, "bash", file], { encoding: "utf8" });
  if (r.status !== 0) return undefined;
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, out: Number(r.stdout.trim()) };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "cloudsync-gzip-bench-"));
  try {
    const file = join(dir, "docs.bson");
    await writeDemoDocuments(file);
    const size = (await stat(file)).size;
    console.log(`input ${(size / MiB).toFixed(1)} MiB of demo BSON; load ${spawnSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).stdout.trim()}`);
    const line = (name: string, r: { seconds: number; out: number }): void =>
      console.log(`${name.padEnd(34)} ${(size / MiB / r.seconds).toFixed(1).padStart(7)} MiB/s  ratio ${(size / r.out).toFixed(2)}`);
    const blockSizes = (process.env.BENCH_BLOCKS ?? String(MiB)).split(",").map(Number);
    for (const blockSize of blockSizes) {
      for (const workers of [1, 2]) line(`ours level 1, ${workers} worker(s), ${blockSize / 1024} KiB`, await ours(file, workers, blockSize));
    }
    const shell = shellGzip(file);
    if (shell) line("gzip -1", shell);
    else console.log("gzip -1: not available, skipped");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
