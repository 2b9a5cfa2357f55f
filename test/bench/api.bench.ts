// `npm run bench:api` (node dist/test/bench/api.bench.js): GET /api/models?limit=50 on a
// 10,000-model database under `wrk -t2 -c50`, beside two bare node:http servers returning the
// same precomputed bytes, in the same run: the ceiling, on node's default flags, and the same
// server on the metadata server's small-heap NODE_FLAGS and MALLOC_ENV (which cost throughput too,
// so a ratio against it alone would flatter us). Measured in mirrored order (ours, ceiling, same-flags,
// same-flags, ceiling, ours; 5 s each) so a change in machine load hits all alike. Prints
// requests/s and p99 per round, the ratio of the means, the worst p99, and the memory of the
// processes from /proc/<pid>/status: VmRSS idle, VmHWM (peak, the target's
// figure), RssAnon (private memory) and RssFile (mostly the node binary's file-backed pages,
// shared with every other node process and ~34 MiB for a bare `node -e`). PASS/FAIL against the
// issue's targets (50 MB is 50,000,000 bytes). Then both ways of running the server, the deployed
// entry (`node <NODE_FLAGS> serve-main.js`, the unit's ExecStart) and the README's
// `cloudsync serve-metadata`, each on its own copy of the database: idle, after one 5 s round of the
// same load, and after a flood of 300 unsigned and forged 1 MiB pushes, 20 at a time, each from
// its own loopback address (so the per-client push limit does not answer them first): VmRSS,
// VmHWM and RssAnon, against the RssAnon target (< 32 MiB under load). The unit's cgroup
// memory.peak is printed where cgroup v2 shows this process's own cgroup. `-- --no-malloc-env`
// runs the first server, the same-flags bare one and the deployed entry without the unit's
// MALLOC_ENV (`cloudsync serve-metadata` always sets it), and MALLOC_* or GLIBC_TUNABLES variables
// in this benchmark's environment are passed to all three, to try other malloc settings. A
// benchmark, not a test: run it on a quiet machine.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { copyFileSync } from "node:fs";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MALLOC_ENV, NODE_FLAGS, SERVER_ENTRY } from "../../runtime/src/metadata/deploy/options.js";
import type { PublicModel } from "../../runtime/src/metadata/public-schema.js";
import { openMetadataStore } from "../../runtime/src/metadata/store.js";
import { floodPushes } from "../support/push-flood.js";

const MODELS = 10_000;
const PATH = "/api/models?limit=50";
const TARGETS = { ratio: 0.6, p99Ms: 10, rssBytes: 50_000_000, anonMiB: 32 };
const FLOOD = { pushes: 300, concurrent: 20 };
const API_KEY = "bench-api-key-0123456789abcdef";
const MiB = 1024 * 1024;
const ROUND_SECONDS = 5;
const isMallocVariable = (name: string): boolean => name.startsWith("MALLOC_") || name === "GLIBC_TUNABLES";

/**
 * The glibc malloc environment of the metadata server and of the bare server on its flags: the
 * unit's MALLOC_ENV (none with `--no-malloc-env`), then any MALLOC_* or GLIBC_TUNABLES variable of
 * this benchmark's own environment, to try others.
 */
function serverMallocEnv(argv: string[]): Record<string, string> {
  for (const arg of argv) if (arg !== "--no-malloc-env") throw new Error(`bench:api: unknown argument ${JSON.stringify(arg)}; the only one is --no-malloc-env (measure without the unit's MALLOC_ENV)`);
  const env: Record<string, string> = argv.includes("--no-malloc-env") ? {} : { ...MALLOC_ENV };
  for (const [k, v] of Object.entries(process.env)) if (isMallocVariable(k) && v !== undefined) env[k] = v;
  return env;
}
const SERVER_MALLOC = serverMallocEnv(process.argv.slice(2));
/** This environment without malloc settings: node's defaults, for the ceiling. */
const DEFAULTS_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !isMallocVariable(k)));

function repoRoot(): string {
  for (let d = path.dirname(fileURLToPath(import.meta.url)); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, "package.json")) && existsSync(path.join(d, "runtime"))) return d;
    if (path.dirname(d) === d) throw new Error("repository root not found");
  }
}

function benchModel(i: number): PublicModel {
  const n = String(i).padStart(5, "0");
  return {
    id: `bench-${n}`,
    name: `Bench model ${n}`,
    family: ["llama", "mistral", "phi", "gemma", "qwen"][i % 5],
    parameters: ((i % 70) + 1) * 1e8,
    sizeBytes: ((i % 97) + 1) * 10_000_019,
    license: ["apache-2.0", "mit", "llama3", "cc-by-4.0"][i % 4],
    sourceUrl: `https://huggingface.co/bench/model-${n}`,
    sha256: i.toString(16).padStart(64, "0"),
    tags: ["bench", `t${i % 7}`],
    description: `Benchmark model ${i}: a realistic-length public description of a few dozen words about what it is for.`,
    updatedAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
  };
}

async function waitForLine(child: ChildProcess, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = re.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`process exited with ${code} before it was ready`)));
  });
}

interface Memory {
  /** All in MiB. */
  rss: number;
  hwm: number;
  anon: number;
  file: number;
}

function status(pid: number): Memory {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN) / 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM"), anon: kb("RssAnon"), file: kb("RssFile") };
}

function describeMemory(m: Memory): string {
  return `VmRSS ${m.rss.toFixed(1)}  VmHWM ${m.hwm.toFixed(1)}  RssAnon ${m.anon.toFixed(1)}  RssFile ${m.file.toFixed(1)} MiB`;
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

interface WrkResult {
  rps: number;
  p99Ms: number;
  errors: string;
}

async function wrk(url: string, seconds: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", ["-t2", "-c50", `-d${seconds}s`, "--latency", url], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${out}`));
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const p99 = /\s99%\s+(\S+)/.exec(out)?.[1] ?? "";
      const errors = [/Socket errors:[^\n]*/.exec(out)?.[0], /Non-2xx or 3xx responses:[^\n]*/.exec(out)?.[0]].filter(Boolean).join("; ");
      resolve({ rps, p99Ms: toMs(p99), errors });
    });
  });
}

/** The cgroup v2 memory.peak of `pid`'s own cgroup in MiB, or why there is none. */
function cgroupPeak(pid: number): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").find((l) => l.startsWith("0::"));
  const file = line ? `/sys/fs/cgroup${line.slice(3)}/memory.peak` : undefined;
  if (!file || !existsSync(file)) return "cgroup memory.peak: not available here (needs cgroup v2; under systemd it is the unit's: systemctl show -p MemoryPeak)";
  return `cgroup memory.peak ${(Number(readFileSync(file, "utf8")) / MiB).toFixed(1)} MiB (the whole cgroup: everything else in it too)`;
}

interface FormFigures {
  idle: Memory;
  load: Memory;
  rps: number;
  flood: Memory;
  statuses: number[];
}

/** Idle, one load round and one flood against a server that is already listening at `url`. */
async function formFigures(pid: number, url: string): Promise<FormFigures> {
  await new Promise((r) => setTimeout(r, 500));
  const idle = status(pid);
  await wrk(`${url}${PATH}`, 2);
  const round = await wrk(`${url}${PATH}`, ROUND_SECONDS);
  const load = status(pid);
  const statuses = await floodPushes(url, FLOOD.pushes, FLOOD.concurrent);
  return { idle, load, rps: round.rps, flood: status(pid), statuses };
}

async function main(): Promise<void> {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
  } catch (err) {
    // wrk prints its version and exits 1; only a missing binary is fatal.
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      console.log("bench:api: wrk is not installed (apt-get install -y wrk); nothing measured");
      process.exitCode = 1;
      return;
    }
  }
  const root = repoRoot();
  const entry = path.join(root, SERVER_ENTRY);
  if (!existsSync(entry)) throw new Error(`${SERVER_ENTRY} is missing; run npm run build`);
  const dir = mkdtempSync(path.join(tmpdir(), "cloudsync-bench-api-"));
  const children: ChildProcess[] = [];
  try {
    const dbPath = path.join(dir, "bench.sqlite");
    const store = openMetadataStore(dbPath);
    for (let start = 0; start < MODELS; start += 1000) {
      const models: PublicModel[] = [];
      for (let i = start; i < start + 1000; i++) models.push(benchModel(i));
      const body = { models };
      store.applyPush(body, Buffer.from(JSON.stringify(body)), `bench-seed-${String(start).padStart(8, "0")}`, Date.now());
    }
    store.close();

    // The per-client read limit is off: wrk is one client making tens of thousands of requests a second.
    const server = spawn(process.execPath, [...NODE_FLAGS, entry, "--db", dbPath, "--port", "0", "--read-rate-limit", "off"], { stdio: ["ignore", "pipe", "inherit"], env: { PATH: process.env.PATH ?? "", ...SERVER_MALLOC } });
    children.push(server);
    const serverUrl = await waitForLine(server, /listening on (\S+)/);
    const sample = await fetch(`${serverUrl}${PATH}`);
    const bytes = Buffer.from(await sample.arrayBuffer());
    const json = JSON.parse(bytes.toString("utf8")) as { items: unknown[] };
    if (json.items.length !== 50) throw new Error(`expected 50 items, got ${json.items.length}`);
    writeFileSync(path.join(dir, "page.json"), bytes);

    const bareScript = `const http=require("node:http");const body=require("node:fs").readFileSync(${JSON.stringify(path.join(dir, "page.json"))});
const s=http.createServer((q,r)=>{r.writeHead(200,{"content-type":"application/json; charset=utf-8","content-length":body.length});r.end(body)});
s.listen(0,"127.0.0.1",()=>console.log("bare listening on http://127.0.0.1:"+s.address().port));`;
    const bare = spawn(process.execPath, ["-e", bareScript], { stdio: ["ignore", "pipe", "inherit"], env: DEFAULTS_ENV });
    children.push(bare);
    const bareUrl = await waitForLine(bare, /listening on (\S+)/);
    const sameFlags = spawn(process.execPath, [...NODE_FLAGS, "-e", bareScript], { stdio: ["ignore", "pipe", "inherit"], env: { ...DEFAULTS_ENV, ...SERVER_MALLOC } });
    children.push(sameFlags);
    const sameFlagsUrl = await waitForLine(sameFlags, /listening on (\S+)/);

    const pid = server.pid as number;
    const barePid = bare.pid as number;
    const idle = status(pid);
    const bareIdle = status(barePid);
    const sameFlagsPid = sameFlags.pid as number;
    const sameFlagsIdle = status(sameFlagsPid);
    console.log(`bench:api: ${MODELS} models, response ${bytes.length} bytes, node ${process.version}, flags ${NODE_FLAGS.join(" ")}, malloc env ${JSON.stringify(SERVER_MALLOC)}; load average before: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
    console.log(`idle  metadata server: ${describeMemory(idle)}`);
    console.log(`idle  bare node:http, ceiling   : ${describeMemory(bareIdle)}`);
    console.log(`idle  bare node:http, NODE_FLAGS: ${describeMemory(sameFlagsIdle)}`);
    // Warm both up (JIT, caches) so neither is measured cold.
    await wrk(`${serverUrl}${PATH}`, 2);
    await wrk(`${bareUrl}${PATH}`, 2);
    await wrk(`${sameFlagsUrl}${PATH}`, 2);

    let peakSampled = 0;
    const sampler = setInterval(() => (peakSampled = Math.max(peakSampled, status(pid).rss)), 200);
    const oursRounds: WrkResult[] = [];
    const bareRounds: WrkResult[] = [];
    const sameFlagsRounds: WrkResult[] = [];
    oursRounds.push(await wrk(`${serverUrl}${PATH}`, ROUND_SECONDS));
    bareRounds.push(await wrk(`${bareUrl}${PATH}`, ROUND_SECONDS));
    sameFlagsRounds.push(await wrk(`${sameFlagsUrl}${PATH}`, ROUND_SECONDS));
    sameFlagsRounds.push(await wrk(`${sameFlagsUrl}${PATH}`, ROUND_SECONDS));
    bareRounds.push(await wrk(`${bareUrl}${PATH}`, ROUND_SECONDS));
    oursRounds.push(await wrk(`${serverUrl}${PATH}`, ROUND_SECONDS));
    clearInterval(sampler);
    const after = status(pid);
    const bareAfter = status(barePid);
    const sameFlagsAfter = status(sameFlagsPid);

    const line = (name: string, r: WrkResult): string => `${name.padEnd(34)} ${r.rps.toFixed(0).padStart(8)} req/s   p99 ${r.p99Ms.toFixed(2).padStart(6)} ms${r.errors ? `   (${r.errors})` : ""}`;
    for (let i = 0; i < 2; i++) {
      console.log(line(`metadata server (${i + 1})`, oursRounds[i] as WrkResult));
      console.log(line(`bare node:http, ceiling (${i + 1})`, bareRounds[i] as WrkResult));
      console.log(line(`bare node:http, NODE_FLAGS (${i + 1})`, sameFlagsRounds[i] as WrkResult));
    }
    const mean = (rs: WrkResult[]): number => rs.reduce((a, r) => a + r.rps, 0) / rs.length;
    const worstP99 = (rs: WrkResult[]): number => Math.max(...rs.map((r) => r.p99Ms));
    const ratio = mean(oursRounds) / mean(bareRounds);
    const sameFlagsRatio = mean(oursRounds) / mean(sameFlagsRounds);
    console.log(`after metadata server: ${describeMemory(after)} (VmRSS sampled max ${Math.max(peakSampled, after.rss).toFixed(1)} MiB)`);
    console.log(`after bare node:http, ceiling   : ${describeMemory(bareAfter)}`);
    console.log(`after bare node:http, NODE_FLAGS: ${describeMemory(sameFlagsAfter)}`);
    console.log(`metadata server above bare node:http on the same flags: VmHWM +${(after.hwm - sameFlagsAfter.hwm).toFixed(1)} MiB, RssAnon +${(after.anon - sameFlagsAfter.anon).toFixed(1)} MiB, RssFile +${(after.file - sameFlagsAfter.file).toFixed(1)} MiB`);
    const verdict = (ok: boolean): string => (ok ? "PASS" : "FAIL");
    console.log(`ratio ${(ratio * 100).toFixed(1)} % of the ceiling (${mean(oursRounds).toFixed(0)} / ${mean(bareRounds).toFixed(0)} req/s; target ≥ ${TARGETS.ratio * 100} %): ${verdict(ratio >= TARGETS.ratio)}`);
    console.log(`(against bare node:http on the same NODE_FLAGS: ${(sameFlagsRatio * 100).toFixed(1)} %, ${mean(sameFlagsRounds).toFixed(0)} req/s)`);
    console.log(`p99 ${worstP99(oursRounds).toFixed(2)} ms worst round (ceiling ${worstP99(bareRounds).toFixed(2)} ms, same flags ${worstP99(sameFlagsRounds).toFixed(2)} ms; target < ${TARGETS.p99Ms} ms): ${verdict(worstP99(oursRounds) < TARGETS.p99Ms)}`);
    const peakBytes = after.hwm * MiB;
    console.log(`RSS peak VmHWM ${after.hwm.toFixed(1)} MiB = ${(peakBytes / 1e6).toFixed(1)} MB (target < ${TARGETS.rssBytes / 1e6} MB; bare node:http's own VmHWM is ${((sameFlagsAfter.hwm * MiB) / 1e6).toFixed(1)} MB on the same flags, ${((bareAfter.hwm * MiB) / 1e6).toFixed(1)} MB on defaults): ${verdict(peakBytes < TARGETS.rssBytes)}`);
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");

    // The two ways of running the server, one after the other, each on its own copy of the data.
    console.log(`\nmemory of the two ways of running the server (MiB), idle, after a ${ROUND_SECONDS} s round of wrk -t2 -c50, and after ${FLOOD.pushes} unsigned/forged 1 MiB pushes ${FLOOD.concurrent} at a time:`);
    const forms: [string, (db: string) => string[]][] = [
      ["deployed serve-main.js", (db) => [...NODE_FLAGS, entry, "--db", db, "--port", "0", "--read-rate-limit", "off"]],
      ["cloudsync serve-metadata", (db) => [path.join(root, "bin", "cloudsync.js"), "serve-metadata", "--db", db, "--port", "0", "--read-rate-limit", "off"]],
    ];
    for (const [name, args] of forms) {
      const copy = path.join(dir, `${name.replace(/\W+/g, "-")}.sqlite`);
      copyFileSync(dbPath, copy);
      const child = spawn(process.execPath, args(copy), { stdio: ["ignore", "pipe", "ignore"], env: { PATH: process.env.PATH ?? "", CLOUD_SYNC_API_KEY: API_KEY, ...SERVER_MALLOC } });
      children.push(child);
      const url = await waitForLine(child, /listening on (\S+)/);
      const f = await formFigures(child.pid as number, url);
      const counts = new Map<number, number>();
      for (const c of f.statuses) counts.set(c, (counts.get(c) ?? 0) + 1);
      const codes = [...counts].sort(([a], [b]) => a - b).map(([c, n]) => `${n}×${c || "no answer"}`).join(", ");
      console.log(`${name.padEnd(26)} idle   ${describeMemory(f.idle)}`);
      console.log(`${"".padEnd(26)} load   ${describeMemory(f.load)}  (${f.rps.toFixed(0)} req/s); RssAnon < ${TARGETS.anonMiB} MiB: ${f.load.anon < TARGETS.anonMiB ? "PASS" : "FAIL"}`);
      console.log(`${"".padEnd(26)} flood  ${describeMemory(f.flood)}  (${codes})`);
      console.log(`${"".padEnd(26)} ${cgroupPeak(child.pid as number)}`);
      child.kill("SIGTERM");
    }
    console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
