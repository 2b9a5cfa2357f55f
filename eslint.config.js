// Flat config: TypeScript-aware recommended rules for every source folder; build output and
// dependencies are never linted. The last blocks enforce the layer boundaries of
// docs/ARCHITECTURE.md: only the CLI imports the CLI, and no domain module imports the library
// entry (runtime/src/index.ts, runtime/src/api.ts).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const CLI_ONLY = "runtime/src/cli/ is the top layer: only the CLI imports it; move what you need into the domain module it belongs to (docs/ARCHITECTURE.md)";
const ENTRY_ONLY = "runtime/src/index.ts and api.ts are the library entry, above every domain module: import the module that defines the thing instead (docs/ARCHITECTURE.md)";

/**
 * The import boundary for source files `depth` folders below runtime/src (0: runtime/src/*.ts),
 * or outside the domain modules (infra/, stacks/, policy/, both index.ts: `depth` undefined).
 * An import path naming a `cli` folder is refused everywhere but the CLI itself; the library
 * entry is refused to every domain module (runtime/src/<module>/**).
 */
function boundary(files, depth, ignores = []) {
  const patterns = [{ regex: "(^|/)cli(/|$)", message: CLI_ONLY }];
  if (depth !== undefined) patterns.push({ regex: `^${depth === 0 ? "\\./" : `(\\.\\./){${depth}}`}(index|api)(\\.js)?$`, message: ENTRY_ONLY });
  return { files, ignores: ["runtime/src/cli/**", ...ignores], rules: { "no-restricted-imports": ["error", { patterns }] } };
}

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "backups/**", ".cache/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: "readonly", console: "readonly", Buffer: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", setImmediate: "readonly", URL: "readonly", AbortController: "readonly", AbortSignal: "readonly", TextEncoder: "readonly", TextDecoder: "readonly", fetch: "readonly", performance: "readonly", queueMicrotask: "readonly", structuredClone: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  boundary(["runtime/src/*.ts"], 0, ["runtime/src/index.ts"]),
  boundary(["runtime/src/*/*.ts"], 1),
  boundary(["runtime/src/*/*/*.ts"], 2),
  boundary(["runtime/src/*/*/*/*.ts"], 3),
  boundary(["runtime/src/*/*/*/*/*.ts"], 4),
  boundary(["infra/**/*.ts", "stacks/**/*.ts", "policy/**/*.ts", "index.ts", "runtime/src/index.ts"]),
);
