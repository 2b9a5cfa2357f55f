// The CLI glue of sync-metadata, registered on its own program (the lead wires it into
// commands/index.ts): disabled means no network call and says so; missing settings name the variable.
import { describe, expect, it } from "vitest";
import { register } from "../../runtime/src/cli/commands/sync-metadata.js";
import { runCommand, type CommandRun } from "../support/in-process-cli.js";
import { tempDir } from "../support/paths.js";

const run = (args: string[], env: Record<string, string>): Promise<CommandRun> => runCommand(register, args, { env: { PATH: process.env.PATH ?? "", ...env } });

describe("cloudsync sync-metadata", () => {
  it("with CLOUD_SYNC_ENABLED=false makes no call, says so, and exits 0", async () => {
    const tmp = tempDir("cli-sync");
    try {
      const r = await run(["sync-metadata", "--state", `${tmp.dir}/s.json`], { CLOUD_SYNC_ENABLED: "false", CLOUD_SYNC_ENDPOINT: "http://127.0.0.1:9", CLOUD_SYNC_API_KEY: "k".repeat(20) });
      expect(r).toEqual({ code: 0, stdout: "sync-metadata: disabled (CLOUD_SYNC_ENABLED=false); nothing sent\n", stderr: "metadata sync: disabled (CLOUD_SYNC_ENABLED=false); no network call made\n" });
      const j = await run(["--json", "sync-metadata", "--state", `${tmp.dir}/s.json`], { CLOUD_SYNC_ENABLED: "false" });
      expect(JSON.parse(j.stdout)).toEqual({ enabled: false, mode: "disabled", pushed: 0, deleted: 0, unchanged: 0, invalid: 0, batches: 0 });
    } finally {
      tmp.cleanup();
    }
  });

  it("names the missing variable when enabled without an endpoint (exit 2)", async () => {
    const r = await run(["sync-metadata"], { CLOUD_SYNC_ENABLED: "true", CLOUD_SYNC_PROVIDER: "jeffreysanford", CLOUD_SYNC_API_KEY: "k".repeat(20) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("CLOUD_SYNC_ENDPOINT: is required");
  });
});
