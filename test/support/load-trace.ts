// A Node `--import` hook for process tests: records the URL of every module the process
// resolves (ES `import` and CommonJS `require` alike, through module.registerHooks) and writes
// them, one a line, to the file named by TEST_LOAD_TRACE_FILE when the process exits.
// Used as `NODE_OPTIONS=--import <dist/test/support/load-trace.js>` to check which dependencies a
// command loads (test/cli/lazy-load.test.ts). Test code only: nothing in runtime/ reads that variable.
import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";

const out = process.env.TEST_LOAD_TRACE_FILE;
if (out) {
  const seen = new Set<string>();
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      seen.add(resolved.url);
      return resolved;
    },
  });
  process.on("exit", () => writeFileSync(out, [...seen].join("\n") + "\n"));
}
