import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI_SKIP, filesUnder, runCli } from "../support/cli.js";
import { isJongodb, mongoSkipReason, mongoTestUri } from "../support/mongo-service.js";

// jongodb is a server without listDatabases/listCollections: exactly the case the message is for.
const skip = CLI_SKIP ?? mongoSkipReason() ?? (isJongodb() ? undefined : "needs a server without listDatabases (jongodb); this server has the catalog commands");
if (skip) console.warn(`skipping refused-catalog-command tests: ${skip}`);

describe.skipIf(!!skip)("a server that lacks listDatabases: the error names the refused command and --include (issue 9 item 18)", () => {
  const hint = "mongodb listDatabases: the server does not support the listDatabases command, which finding every collection needs; name the collections instead with --include db.coll (repeatable), which skips discovery";

  it("seed export", async () => {
    const work = mkdtempSync(join(tmpdir(), "cloudsync-catalog-"));
    const r = await runCli(["seed", "export", "--uri", mongoTestUri() as string, "--to", join(work, "seed")]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(hint);
    expect(r.stderr).not.toContain("list collections");
    expect(existsSync(join(work, "seed"))).toBe(false);
    expect(filesUnder(work)).toEqual([]);
  });

  it("backup --uri", async () => {
    const work = mkdtempSync(join(tmpdir(), "cloudsync-catalog-"));
    const keys = await runCli(["keys", "new", "--out", join(work, "id.txt"), "--json"]);
    const recipient = keys.json<{ recipient: string }>().recipient;
    const r = await runCli(["backup", "--uri", mongoTestUri() as string, "--to", join(work, "b"), "-r", recipient]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(hint);
    expect(filesUnder(join(work, "b")).filter((f) => !f.startsWith("."))).toEqual([]);
  });
});
