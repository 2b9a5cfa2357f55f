// serveEnv: the environment `cloudsync serve-metadata` hands the deployed serve-main.js when it
// replaces itself with it (the process-level run is in test/cli/lazy-load.test.ts and
// test/metadata/process.test.ts).
import { describe, expect, it } from "vitest";
import { serveEnv } from "../../runtime/src/metadata/server-options.js";
import { Secret } from "../../runtime/src/secret.js";

describe("serveEnv", () => {
  it("keeps the base environment and sets the configured push secret", () => {
    const base = { PATH: "/usr/bin", METADATA_PORT: "9000", CLOUD_SYNC_API_KEY: "from-the-environment" };
    const env = serveEnv(base, new Secret("from-the-config-file-0123456789"));
    expect(env).toEqual({ PATH: "/usr/bin", METADATA_PORT: "9000", CLOUD_SYNC_API_KEY: "from-the-config-file-0123456789" });
    // A new object: the CLI's own environment is left as it was.
    expect(base).toEqual({ PATH: "/usr/bin", METADATA_PORT: "9000", CLOUD_SYNC_API_KEY: "from-the-environment" });
  });

  it("removes CLOUD_SYNC_API_KEY when the configuration has none, so the server disables pushes", () => {
    const env = serveEnv({ PATH: "/usr/bin", CLOUD_SYNC_API_KEY: "" }, undefined);
    expect(env).toEqual({ PATH: "/usr/bin" });
    expect("CLOUD_SYNC_API_KEY" in env).toBe(false);
  });
});
