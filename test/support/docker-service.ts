// The Docker daemon for the test suite: a private dockerd started by scripts/docker-daemon.sh
// (its own data root and socket in a fresh temporary directory), otherwise a skip reason every
// Docker test prints. Never the user's own daemon (DOCKER_HOST): the tests create and remove
// objects named like the `local` stack's (`cloudsync-local-…`), which there could be real data.
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "./paths.js";
import { onPath, superviseScript, type StartedService } from "./service.js";

const run = promisify(execFile);

/**
 * Starts the suite's Docker daemon. CLOUDSYNC_TEST_DOCKER=off skips it on purpose; not root, or
 * no dockerd on PATH, or a failed start → env DOCKER_TEST_SKIP carries the reason. Otherwise env
 * DOCKER_TEST_SOCKET is the daemon's unix socket; the daemon is stopped by PID (a watchdog does it
 * if this process dies without its teardown) and its directory removed.
 */
export async function startDockerForTests(): Promise<StartedService> {
  const skip = (reason: string): StartedService => ({ env: { DOCKER_TEST_SKIP: reason }, note: `docker: ${reason}; Docker tests skip` });
  if (process.env.CLOUDSYNC_TEST_DOCKER === "off") return skip("CLOUDSYNC_TEST_DOCKER=off");
  if (process.getuid?.() !== 0) return skip("dockerd needs root and the tests do not run as root");
  if (!(await onPath("dockerd"))) return skip("no Docker daemon: dockerd is not installed (apt-get install docker.io)");
  const script = path.join(repoRoot, "scripts", "docker-daemon.sh");
  const dir = await mkdtemp(path.join(tmpdir(), "cloudsync-docker-"));
  const scriptEnv = { ...process.env, CLOUDSYNC_DOCKER_DIR: dir };
  const stop = superviseScript(script, scriptEnv, dir, "docker");
  const started = Date.now();
  try {
    const { stdout } = await run(script, ["start"], { env: scriptEnv, timeout: 120_000 });
    const socket = /^export DOCKER_HOST=unix:\/\/(.+)$/m.exec(stdout)?.[1];
    if (!socket) throw new Error(`docker-daemon.sh printed no DOCKER_HOST line: ${stdout}`);
    return { env: { DOCKER_TEST_SOCKET: socket }, stop, note: `docker: private dockerd at ${socket} (started in ${((Date.now() - started) / 1000).toFixed(1)} s)` };
  } catch (err) {
    await stop();
    return skip(`dockerd did not start: ${String((err as { stderr?: string }).stderr || err).trim().split("\n").slice(-3).join(" | ")}`);
  }
}

/** Why Docker tests must skip in this run, or undefined when the suite's daemon is up. */
export function dockerSkipReason(): string | undefined {
  if (process.env.DOCKER_TEST_SKIP) return process.env.DOCKER_TEST_SKIP;
  if (!process.env.DOCKER_TEST_SOCKET) return "DOCKER_TEST_SOCKET is not set (the global setup did not start a Docker daemon)";
  return undefined;
}
