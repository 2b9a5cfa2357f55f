import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The installed entry point of the CLI (runs the compiled program in dist/). */
export const CLI = join(REPO, "bin", "cloudsync.js");
/** Why CLI process tests cannot run, or undefined when they can. */
export const CLI_SKIP = existsSync(join(REPO, "dist", "runtime", "src", "cli", "main.js")) ? undefined : "dist/ is missing: run `npm run build` (npm test does) to test the CLI as a process";
/** The real mongodump fixtures, when the shared folder is beside the checkout. */
export const FIXTURES = resolve(REPO, "../shared/fixtures/mongodump");
export const FIXTURES_SKIP = existsSync(join(FIXTURES, "test.bar.archive")) ? undefined : `real mongodump fixtures not found at ${FIXTURES} (only CI and developer machines have ../shared)`;

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = unknown>(): T;
}

/** Spawns the CLI as a real process and collects its output. */
export function runCli(args: string[], opts: { env?: Record<string, string | undefined>; input?: Buffer | string; cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnCli(args, opts);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({
        code,
        signal,
        stdout,
        stderr,
        json<T>() {
          try {
            return JSON.parse(stdout) as T;
          } catch {
            throw new Error(`stdout is not JSON:\n${stdout}\nstderr:\n${stderr}`);
          }
        },
      });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/** Spawns the CLI and returns the child, for tests that feed stdin slowly or kill it. */
export function spawnCli(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): ChildProcess {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...opts.env })) if (v !== undefined) env[k] = v;
  return spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? REPO, env, stdio: ["pipe", "pipe", "pipe"] });
}

/** Every file below `dir` (relative paths, sorted); [] when `dir` does not exist. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}
