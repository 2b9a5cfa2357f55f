import { defineConfig } from "vitest/config";

// Tests run from TypeScript sources. Services (the S3 server, the MongoDB-compatible server)
// are started once by the global setup and their addresses passed through the environment.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // The JSON report lets CI print a plain "N passed, N failed, N skipped" closing line.
    reporters: ["default", "json"],
    outputFile: { json: "coverage/vitest-results.json" },
  },
});
