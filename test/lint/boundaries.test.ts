import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/paths.js";

// The layer boundary of docs/ARCHITECTURE.md, as `npm run lint` enforces it: each case lints one
// import line as if it were in the named file, with the repository's own eslint.config.js.
const eslint = new ESLint({ cwd: repoRoot });

async function refusals(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport {};\n`, { filePath: `${repoRoot}/${file}` });
  return result!.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

describe("import boundaries (eslint no-restricted-imports)", () => {
  it.each([
    ["runtime/src/api.ts", 'import { collect } from "./cli/common.js";'],
    ["runtime/src/pipeline/backup.ts", 'import { collect } from "../cli/common.js";'],
    ["runtime/src/metadata/deploy/steps.ts", 'import type { CliApp } from "../../cli/app.js";'],
    ["infra/backup-agent.ts", 'import { main } from "../runtime/src/cli/main.js";'],
  ])("%s may not import the CLI", async (file, source) => {
    expect(await refusals(file, source)).toEqual([expect.stringMatching(/^'.*cli.*' import is restricted from being used by a pattern\. runtime\/src\/cli\/ is the top layer: only the CLI imports it/)]);
  });

  it.each([
    ["runtime/src/errors.ts", 'import { VERSION } from "./index.js";'],
    ["runtime/src/pipeline/backup.ts", 'import { VERSION } from "../index.js";'],
    ["runtime/src/retention/prune.ts", 'import { createCloudSync } from "../api.js";'],
    ["runtime/src/metadata/deploy/steps.ts", 'export { VERSION } from "../../index.js";'],
  ])("%s may not import the library entry", async (file, source) => {
    expect(await refusals(file, source)).toEqual([expect.stringMatching(/library entry, above every domain module/)]);
  });

  it.each([
    ["runtime/src/cli/commands/list.ts", 'import { collect } from "../common.js";'],
    ["runtime/src/cli/main.ts", 'import { VERSION } from "../index.js";'],
    ["runtime/src/index.ts", 'export { createCloudSync } from "./api.js";'],
    ["runtime/src/metadata/deploy/steps.ts", 'import { syncMetadata } from "../index.js";'],
    ["runtime/src/pipeline/backup.ts", 'import { openDestination } from "../destinations/index.js";'],
  ])("%s may import %s", async (file, source) => {
    expect(await refusals(file, source)).toEqual([]);
  });
});
