/**
 * What the process benchmarks (bench:pipeline, bench:restore) share: the command line
 * (`--size`, `--rounds`), a generated demo archive, running a command or a shell pipeline under
 * GNU time (wall seconds, and peak RSS and CPU from the kernel), and the report's header.
 */
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { availableParallelism, cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { generateDemoArchive } from "../../runtime/src/demo/dataset.js";

export const MiB = 1024 * 1024;

/** The installed entry point, as users run it: `node bin/cloudsync.js` (dist/ must be built). */
export const CLI = join(resolve(dirname(fileURLToPath(import.meta.url)), "../../.."), "bin", "cloudsync.js");

/** One contestant's outcome, from the kernel's accounting. */
export interface Outcome {
  readonly seconds: number;
  /** Peak RSS: the process's own, or the sum over the processes of a shell pipeline. */
  readonly peakRssMiB: number;
  /** User + system CPU seconds of every process involved. */
  readonly cpuSeconds: number;
}

/** The three load averages, as a string. */
export const loadAverage = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

/** Whether a program is on PATH. */
export const has = (program: string): boolean => spawnSync("bash", ["-c", `command -v "$1"`, "bash", program]).status === 0;

/** Parses "256M", "1G", "4G" or a byte count. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) throw new Error(`--size takes a size such as 256M, 1G or 4G, got ${JSON.stringify(text)}`);
  const unit = { "": 1, K: 1024, M: MiB, G: 1024 * MiB }[(m[2] ?? "").toUpperCase() as "" | "K" | "M" | "G"];
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < MiB) throw new Error(`--size must be at least 1M, got ${text}`);
  return bytes;
}

/** `--size A,B` (default `defaults`) and `--rounds N` (default 1) from argv. */
export function parseArgs(argv: string[], defaults: string): { sizes: number[]; rounds: number; rest: Map<string, string> } {
  const rest = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i] as string;
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf("=");
    if (eq > 0) rest.set(a.slice(2, eq), a.slice(eq + 1));
    else rest.set(a.slice(2), argv[++i] ?? "");
  }
  const sizes = (rest.get("size") ?? defaults).split(",").map(parseSize);
  const rounds = Number(rest.get("rounds") ?? 1);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number ≥ 1`);
  return { sizes, rounds, rest };
}

/** Writes a demo mongodump archive of about `bytes` (realistic ~1 KB documents) to `file`. */
export async function generateInput(file: string, bytes: number): Promise<number> {
  const started = process.hrtime.bigint();
  await pipeline(generateDemoArchive({ targetBytes: bytes, seed: 2026 }), createWriteStream(file));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const size = (await stat(file)).size;
  console.log(`input: ${(size / MiB).toFixed(1)} MiB demo mongodump archive, generated in ${seconds.toFixed(1)} s`);
  // Every contestant then reads it from the page cache, not the disk.
  spawnSync("cat", [file], { stdio: ["ignore", "ignore", "ignore"] });
  return size;
}

/** Prints the date, the machine and the load average: figures mean nothing without them. */
export function printHeader(command: string): void {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(`${new Date().toISOString()}  ${command}`);
  console.log(`machine: ${availableParallelism()} × ${cpu}, node ${process.versions.node}, ${process.platform}; load average ${loadAverage()}`);
}

const TIME_FORMAT = "%M %U %S";

/**
 * Runs `script` (bash, with `$1…` bound to `args`), where every command to be measured is
 * written as `@T<i> command` for i = 1…n: each is run under `/usr/bin/time` writing its own
 * figures. Returns wall time of the whole script and the sums over the n processes.
 */
export async function timedScript(dir: string, name: string, script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Outcome> {
  const n = new Set(script.match(/@T\d+/g) ?? []).size;
  const files = Array.from({ length: n }, (_, i) => join(dir, `${name}-time-${i + 1}`));
  const body = script.replace(/@T(\d+)/g, (_, i: string) => `/usr/bin/time -f "${TIME_FORMAT}" -o "${files[Number(i) - 1]}"`);
  const started = process.hrtime.bigint();
  await new Promise<void>((resolvePromise, reject) => {
    const child = spawn("bash", ["-c", `set -o pipefail; ${body}`, "bash", ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolvePromise() : reject(new Error(`${name} exited with ${code}: ${stderr.trim().slice(-2000)}`))));
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  let kib = 0;
  let cpu = 0;
  for (const f of files) {
    const [rss = 0, user = 0, sys = 0] = ((await readFile(f, "utf8")).trim().split("\n").at(-1) ?? "").split(" ").map(Number);
    kib += rss;
    cpu += user + sys;
  }
  return { seconds, peakRssMiB: kib / 1024, cpuSeconds: cpu };
}

/** The fastest of several runs of one contestant, with the highest peak RSS of them (memory must hold in every run). */
export function best<T extends Outcome>(runs: T[]): T {
  const quick = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  return { ...quick, peakRssMiB: Math.max(...runs.map((r) => r.peakRssMiB)) };
}

/** One line of the report. */
export function row(name: string, mib: number, o: Outcome, note = ""): string {
  return `${name.padEnd(22)} ${(mib / o.seconds).toFixed(1).padStart(7)} MiB/s  ${o.seconds.toFixed(2).padStart(7)} s  ${((o.cpuSeconds * 1000) / mib).toFixed(1).padStart(6)} CPU ms/MiB  peak RSS ${o.peakRssMiB.toFixed(1).padStart(6)} MiB${note}`;
}

/** Prints PASS/FAIL for `ratio ≥ target` and returns whether it passed. */
export function check(label: string, value: number, target: number, unit = "×", atMost = false): boolean {
  const pass = atMost ? value <= target : value >= target;
  console.log(`${pass ? "PASS" : "FAIL"} ${label} = ${value.toFixed(2)}${unit} (target ${atMost ? "≤" : "≥"} ${target}${unit})`);
  return pass;
}
