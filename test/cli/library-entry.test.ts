import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { REPO } from "../support/cli.js";

const entry = join(REPO, "dist", "runtime", "src", "index.js");
const skip = existsSync(entry) ? undefined : "dist/ is missing: run `npm run build` (npm test does)";
if (skip) console.warn(`skipping package entry test: ${skip}`);

describe.skipIf(!!skip)("the package's main entry (what `import … from \"cloudsync\"` loads)", () => {
  it("exports the library API without starting anything", async () => {
    const lib = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
    for (const name of ["createCloudSync", "runBackupPipeline", "backupFromMongo", "verifyBackup", "restoreToDirectory", "listBackups", "openDestination", "loadConfig", "Secret", "IntegrityError"]) {
      expect(typeof lib[name], name).toBe("function");
    }
    for (const ns of ["archive", "crypto", "destinations", "mongo", "retention", "seed", "schema", "metadata"]) expect(typeof lib[ns], ns).toBe("object");
  });
});
