/**
 * `npm run bench:startup` (node dist/test/bench/startup.bench.js): how fast and how small the
 * `cloudsync` process starts, as a user types it (bin/cloudsync.js, whole process), beside
 * `node -e 0` in the same run. Commands: `--version`, `--help`, and `list --from <empty dir>`.
 * Runs are interleaved (every command once per round, BENCH_RUNS rounds, default 15) so a change in
 * machine load hits all alike. Wall time is measured around the child; peak RSS is the kernel's
 * (`/usr/bin/time -f %M`, the child's maxrss). Prints the median and the minimum of each, and
 * our figure minus `node -e 0`'s. A benchmark, not a test: run it on a quiet machine after
 * `npm run build`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const RUNS = Number(process.env.BENCH_RUNS ?? 15);

function repoRoot(): string {
  for (let d = path.dirname(fileURLToPath(import.meta.url)); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, "package.json")) && existsSync(path.join(d, "runtime"))) return d;
    if (path.dirname(d) === d) throw new Error("repository root not found");
  }
}

interface Sample {
  seconds: number;
  /** Peak resident set, MiB. */
  rssMiB: number;
}

/** Runs `argv` once under /usr/bin/time; throws when it fails. */
function measure(argv: string[], cwd: string, timeFile: string): Sample {
  const start = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", "-o", timeFile, ...argv], { cwd, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}: ${r.stderr}`);
  const kib = Number(readFileSync(timeFile, "utf8").trim().split("\n").at(-1));
  return { seconds, rssMiB: kib / 1024 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

function main(): void {
  if (!existsSync("/usr/bin/time")) {
    console.log("bench:startup: /usr/bin/time is missing (apt-get install -y time); nothing measured");
    process.exitCode = 1;
    return;
  }
  const root = repoRoot();
  const cli = path.join(root, "bin", "cloudsync.js");
  if (!existsSync(path.join(root, "dist", "runtime", "src", "cli", "main.js"))) throw new Error("dist/ is missing; run npm run build");
  const dir = mkdtempSync(path.join(tmpdir(), "cloudsync-bench-startup-"));
  try {
    const empty = path.join(dir, "empty");
    const timeFile = path.join(dir, "time.txt");
    spawnSync("mkdir", [empty]);
    const cases: [string, string[]][] = [
      ["node -e 0", [process.execPath, "-e", "0"]],
      ["cloudsync --version", [process.execPath, cli, "--version"]],
      ["cloudsync --help", [process.execPath, cli, "--help"]],
      ["cloudsync list (empty dir)", [process.execPath, cli, "list", "--from", empty]],
    ];
    // One unmeasured round warms the page cache for node and every module file.
    for (const [, argv] of cases) measure(argv, dir, timeFile);
    const samples = new Map<string, Sample[]>(cases.map(([name]) => [name, []]));
    for (let i = 0; i < RUNS; i++) for (const [name, argv] of cases) samples.get(name)!.push(measure(argv, dir, timeFile));

    console.log(`bench:startup: ${RUNS} interleaved runs each, node ${process.version}; load average before: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
    const base = samples.get("node -e 0")!;
    const baseWall = median(base.map((s) => s.seconds));
    const baseRss = median(base.map((s) => s.rssMiB));
    console.log(`${"command".padEnd(28)} ${"wall median".padStart(11)} ${"min".padStart(7)} ${"peak RSS median".padStart(15)} ${"min".padStart(7)}   above node -e 0`);
    for (const [name] of cases) {
      const s = samples.get(name)!;
      const wall = median(s.map((x) => x.seconds));
      const rss = median(s.map((x) => x.rssMiB));
      const above = name === "node -e 0" ? "" : `+${(wall - baseWall).toFixed(3)} s, +${(rss - baseRss).toFixed(1)} MiB`;
      console.log(
        `${name.padEnd(28)} ${`${wall.toFixed(3)} s`.padStart(11)} ${`${Math.min(...s.map((x) => x.seconds)).toFixed(3)} s`.padStart(7)} ${`${rss.toFixed(1)} MiB`.padStart(15)} ${`${Math.min(...s.map((x) => x.rssMiB)).toFixed(1)}`.padStart(7)}   ${above}`,
      );
    }
    console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
