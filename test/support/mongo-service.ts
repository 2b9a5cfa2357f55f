import type { StartedService } from "./service.js";

// Placeholder until the MongoDB harness lands: no server, tests that need one skip.
export async function startMongoForTests(): Promise<StartedService> {
  return { env: { MONGO_TEST_SKIP: "no MongoDB harness yet" }, note: "mongo: no server harness yet; MongoDB tests skip" };
}
