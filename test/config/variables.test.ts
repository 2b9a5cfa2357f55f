// The one list of environment variables (config.ts's VARIABLES) against every name the
// repository uses, so a new variable cannot be read without being known (or it would be warned
// about as a typo), and the typo warning itself.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ENVIRONMENT, unknownVariableWarnings, VARIABLES } from "../../runtime/src/config/config.js";
import { REPO } from "../support/cli.js";

function filesBelow(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && /\.(ts|js|mjs|sh|ya?ml|md|json)$|^Dockerfile$|^\.env\.example$/.test(d.name))
    .map((d) => join(d.parentPath, d.name));
}

describe("environment variables", () => {
  it("every CLOUDSYNC_* and CLOUD_SYNC_* name used in runtime, infra, stacks, scripts, tests and docs is known", () => {
    const used = new Set<string>();
    const files = [...["runtime", "infra", "stacks", "scripts", "test", "docs"].flatMap(filesBelow), join(REPO, ".env.example"), join(REPO, "README.md"), join(REPO, "Dockerfile")];
    for (const f of files.filter((f) => !f.endsWith("variables.test.ts") && !f.endsWith("conventions.test.ts"))) for (const m of readFileSync(f, "utf8").matchAll(/\b(?:CLOUDSYNC|CLOUD_SYNC)_[A-Z0-9_]*[A-Z0-9]\b/g)) used.add(m[0]);
    // (This file and the conventions process test are left out: their typos are on purpose, as
    // is the README's example of the warning.)
    used.delete("CLOUDSYNC_DESTINATON");
    expect([...used].filter((n) => !(n in VARIABLES)).sort()).toEqual([]);
    expect(unknownVariableWarnings(Object.fromEntries([...used].map((n) => [n, "x"])))).toEqual([]);
  });

  it("ENVIRONMENT is derived from VARIABLES: exactly the variables that are settings", () => {
    expect(Object.keys(ENVIRONMENT).sort()).toEqual(Object.keys(VARIABLES).filter((n) => VARIABLES[n]!.key).sort());
  });

  it("warns about each unknown CLOUDSYNC_* or CLOUD_SYNC_* variable, naming the closest known one, and ignores other variables", () => {
    expect(unknownVariableWarnings({ CLOUDSYNC_DESTINATON: "/b", CLOUD_SYNC_API_KYE: "k", CLOUDSYNC_DESTINATION: "/a", HOME: "/root", CLOUDSYNCX: "1" })).toEqual([
      "CLOUDSYNC_DESTINATON is not a cloudsync variable and is ignored; did you mean CLOUDSYNC_DESTINATION?",
      "CLOUD_SYNC_API_KYE is not a cloudsync variable and is ignored; did you mean CLOUD_SYNC_API_KEY?",
    ]);
  });

  it("names a known variable only for a near miss, not for any name sharing the prefix", () => {
    expect(unknownVariableWarnings({ CLOUDSYNC_MY_OWN_SETTING: "1" })).toEqual(["CLOUDSYNC_MY_OWN_SETTING is not a cloudsync variable and is ignored; the README's Configuration section lists the known ones"]);
  });
});
