// The Google Cloud Storage server for the test suite: a user's own project when GCS_TEST_PROJECT
// is set (credentials from GOOGLE_APPLICATION_CREDENTIALS or the environment), otherwise
// fake-gcs-server built by scripts/build-peers.sh into .cache/peers/, started on 127.0.0.1,
// otherwise a skip reason every GCS test prints.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { GcsDestinationOptions } from "../../runtime/src/destinations/gcs.js";
import { fakeGcsBin, FAKE_GCS_VERSION } from "./peers.js";
import { superviseChild, type StartedService } from "./service.js";

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Decides which GCS the run uses. GCS_TEST_PROJECT set → Google's service in that project
 * (the tests create and delete their own buckets). Else fake-gcs-server from
 * `<CLOUDSYNC_PEERS_DIR or .cache/peers>/fake-gcs-server-<version>/bin/`, on a free 127.0.0.1
 * port with a memory backend, stopped by PID (a watchdog does it if this process dies without
 * its teardown). Else GCS_TEST_SKIP carries the reason. CLOUDSYNC_TEST_GCS=off skips on purpose.
 */
export async function startFakeGcsForTests(): Promise<StartedService> {
  if (process.env.GCS_TEST_PROJECT) return { env: { GCS_TEST_PROJECT: process.env.GCS_TEST_PROJECT }, note: `gcs: using project ${process.env.GCS_TEST_PROJECT}` };
  if (process.env.CLOUDSYNC_TEST_GCS === "off") return { env: { GCS_TEST_SKIP: "CLOUDSYNC_TEST_GCS=off" }, note: "gcs: CLOUDSYNC_TEST_GCS=off; GCS tests skip" };
  const bin = fakeGcsBin();
  if (!existsSync(bin)) {
    const reason = `fake-gcs-server ${FAKE_GCS_VERSION} is not built (run scripts/build-peers.sh) and GCS_TEST_PROJECT is not set`;
    return { env: { GCS_TEST_SKIP: reason }, note: `gcs: ${reason}; GCS tests skip` };
  }
  const dir = await mkdtemp(path.join(tmpdir(), "cloudsync-fake-gcs-"));
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const started = Date.now();
  const child = spawn(
    bin,
    ["-scheme", "http", "-host", "127.0.0.1", "-port", String(port), "-external-url", endpoint, "-public-host", `127.0.0.1:${port}`, "-backend", "filesystem", "-filesystem-root", dir, "-log-level", "warn"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => void (stderr = (stderr + String(chunk)).slice(-2000)));
  const stop = superviseChild(child, dir);
  // Ready when its JSON API answers.
  for (const deadline = Date.now() + 60_000; ; ) {
    try {
      const res = await fetch(`${endpoint}/storage/v1/b?project=test`);
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      const reason = `fake-gcs-server did not start: ${stderr.trim().split("\n").slice(-3).join(" | ") || "no answer within 60 s"}`;
      await stop();
      return { env: { GCS_TEST_SKIP: reason }, note: `gcs: ${reason}; GCS tests skip` };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { env: { GCS_TEST_ENDPOINT: endpoint, GCS_TEST_ROOT: dir }, stop, note: `gcs: fake-gcs-server ${FAKE_GCS_VERSION} at ${endpoint} (started in ${((Date.now() - started) / 1000).toFixed(1)} s)` };
}

/** Why GCS tests must skip in this run, or undefined when a service is available. */
export function gcsSkipReason(): string | undefined {
  if (process.env.GCS_TEST_SKIP) return process.env.GCS_TEST_SKIP;
  if (!process.env.GCS_TEST_ENDPOINT && !process.env.GCS_TEST_PROJECT) return "neither GCS_TEST_ENDPOINT nor GCS_TEST_PROJECT is set (the global setup did not start fake-gcs-server)";
  return undefined;
}

/** Destination options for the test service and `bucket`. */
export function gcsTestOptions(bucket: string): GcsDestinationOptions {
  return { bucket, ...(process.env.GCS_TEST_ENDPOINT ? { endpoint: process.env.GCS_TEST_ENDPOINT } : {}), chunkSize: 256 * 1024 };
}
