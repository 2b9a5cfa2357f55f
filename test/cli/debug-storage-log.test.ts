// --debug logs every storage operation through the destination wrapper openDestination composes
// (destinations/open.ts, withLogging): one line each on stderr, and nothing without --debug.
import { describe, expect, it } from "vitest";
import { register } from "../../runtime/src/cli/commands/prune.js";
import { writeAgedBackups } from "../support/backups.js";
import { runCommand } from "../support/in-process-cli.js";
import { tempDir } from "../support/paths.js";

describe("cloudsync --debug", () => {
  it("prints one line per storage operation on stderr, with its outcome and time; without --debug, none", async () => {
    const tmp = tempDir("debug-log");
    try {
      const [id] = await writeAgedBackups(tmp.dir, [1]);
      const r = await runCommand(register, ["--debug", "prune", "--dry-run", "--from", tmp.dir]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(id);
      // Prune reads the manifest (each read is a line); listing is not logged.
      const lines = r.stderr.replace(/\d+ ms/g, "N ms").trimEnd().split("\n");
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line).toBe(`cloudsync: debug: get ${tmp.dir} manifests/${id}.json: ok in N ms`);
      const quiet = await runCommand(register, ["prune", "--dry-run", "--from", tmp.dir]);
      expect(quiet).toEqual({ ...r, stderr: "" });
    } finally {
      tmp.cleanup();
    }
  });
});
