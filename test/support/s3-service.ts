import type { StartedService } from "./service.js";

// Placeholder until the S3 server harness lands: no server, tests that need one skip.
export async function startS3ForTests(): Promise<StartedService> {
  return { env: { S3_TEST_SKIP: "no S3 server harness yet" }, note: "s3: no server harness yet; S3 tests skip" };
}
