// Starts the services the suite needs once per run and hands their addresses to the test
// workers through the environment. Each service module decides for itself whether it can run
// here; when it cannot, it says why and the tests that need it skip with that reason. At the end
// of the run it prints the MongoDB feature × server table (servers.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startFerretdbForTests } from "./ferretdb-service.js";
import { startMongoForTests } from "./mongo-service.js";
import { startMongoToolsForTests } from "./peers.js";
import { startS3ForTests } from "./s3-service.js";
import { matrixTable } from "./servers.js";
import { startAzuriteForTests } from "./azurite-service.js";
import { startFakeGcsForTests } from "./fake-gcs-service.js";
import { startDockerForTests } from "./docker-service.js";

type Stop = () => Promise<void>;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: Stop[] = [];
  const matrixDir = mkdtempSync(path.join(tmpdir(), "cloudsync-matrix-"));
  const matrixLog = path.join(matrixDir, "decisions.jsonl");
  const provide = (env: Record<string, string>) => {
    for (const [k, v] of Object.entries(env)) project.provide(k as never, v as never);
    for (const [k, v] of Object.entries(env)) process.env[k] = v;
  };
  provide({ CLOUDSYNC_TEST_MATRIX_LOG: matrixLog });
  for (const start of [startS3ForTests, startMongoForTests, startFerretdbForTests, startMongoToolsForTests, startAzuriteForTests, startFakeGcsForTests, startDockerForTests]) {
    const started = await start();
    provide(started.env);
    if (started.note) console.log(started.note);
    if (started.stop) stops.push(started.stop);
  }
  return async () => {
    console.log(matrixTable(matrixLog));
    rmSync(matrixDir, { recursive: true, force: true });
    for (const stop of stops.reverse()) await stop();
  };
}
