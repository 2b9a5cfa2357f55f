// Starts the services the suite needs once per run and hands their addresses to the test
// workers through the environment. Each service module decides for itself whether it can run
// here; when it cannot, it says why and the tests that need it skip with that reason.
import type { TestProject } from "vitest/node";
import { startS3ForTests } from "./s3-service.js";
import { startMongoForTests } from "./mongo-service.js";
import { startAzuriteForTests } from "./azurite-service.js";
import { startFakeGcsForTests } from "./fake-gcs-service.js";

type Stop = () => Promise<void>;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: Stop[] = [];
  for (const start of [startS3ForTests, startMongoForTests, startAzuriteForTests, startFakeGcsForTests]) {
    const started = await start();
    for (const [k, v] of Object.entries(started.env)) project.provide(k as never, v as never);
    for (const [k, v] of Object.entries(started.env)) process.env[k] = v;
    if (started.note) console.log(started.note);
    if (started.stop) stops.push(started.stop);
  }
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}
