/**
 * The real Pulumi engine for the engine tests: the CLI and Node.js language host that
 * scripts/build-pulumi.sh builds into .cache/pulumi/<version>/bin (keyed by the installed
 * @pulumi/pulumi), a scratch project per stack with a file:// backend and the passphrase
 * secrets provider, and the policy pack through a launcher.
 *
 * The policy pack is given to --policy-pack as a launcher (an executable the engine starts as a
 * binary analyzer plugin, passing its own address) that runs the SDK's own
 * `@pulumi/pulumi/cmd/run-policy-pack` in policy/, exactly as the Node.js language host's
 * RunPlugin would: the only language host the Go module proxy lets us build (sdk/v3 v3.68.0, see
 * scripts/build-pulumi.sh) predates RunPlugin and answers "not supported" for a pack directory.
 * The pack then loads from policy/package.json, as it does for `--policy-pack policy`.
 * Each stack runs in a scratch project directory (Pulumi.yaml and the stack's config copied,
 * dist/, node_modules/ and package.json linked) so `pulumi stack init` and `config set` never
 * write into the repository. Plugins are never downloaded.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "vitest";
import { repoRoot } from "../support/paths.js";

const version = (JSON.parse(readFileSync(path.join(repoRoot, "node_modules/@pulumi/pulumi/package.json"), "utf8")) as { version: string }).version;
const engine = path.join(repoRoot, ".cache/pulumi", version);
const bin = path.join(engine, "bin");
const missing = ["pulumi", "pulumi-language-nodejs"].filter((b) => !existsSync(path.join(bin, b)));

/** Why the engine tests cannot run here (engine not built, program not compiled), or undefined. */
export const engineSkip: string | undefined =
  missing.length > 0
    ? `the real Pulumi engine is not built: ${missing.map((b) => `.cache/pulumi/${version}/bin/${b}`).join(", ")} missing (scripts/build-pulumi.sh; the Go module proxy serves no Node.js language host module, see docs/INFRA.md)`
    : !existsSync(path.join(repoRoot, "dist/index.js"))
      ? "dist/index.js is missing; run `npm run build` first"
      : undefined;

/** Provider plugins installed into the engine's PULUMI_HOME (`resource-<name>-v<version>` directories). */
function hasPlugin(name: string): boolean {
  const pkg = path.join(repoRoot, "node_modules/@pulumi", name, "package.json");
  const wanted = existsSync(pkg) ? (JSON.parse(readFileSync(pkg, "utf8")) as { pulumi?: { version?: string } }).pulumi?.version : undefined;
  return wanted !== undefined && existsSync(path.join(engine, "home/plugins", `resource-${name}-v${wanted}`));
}

/** Why a stack needing these provider plugins cannot run (the ones not built), or undefined. */
export function needs(plugins: string[]): string | undefined {
  const absent = plugins.filter((p) => !hasPlugin(p));
  return absent.length > 0 ? `provider plugin(s) ${absent.join(", ")} not built (not served by the Go module proxy)` : undefined;
}

/** One CLI run: exit status (null when killed by the timeout) and stdout followed by stderr. */
export interface EngineRun {
  readonly status: number | null;
  readonly out: string;
  /** Wall-clock seconds the command took. */
  readonly seconds: number;
}

/** A scratch project for one stack. */
export interface EngineProject {
  /** The project directory. */
  readonly dir: string;
  /** The launcher to pass to `--policy-pack`. */
  readonly policyPack: string;
  /** Runs `pulumi <args> --non-interactive --cwd <dir>` (five minutes at most), `stdin` as its input. */
  pulumi(args: string[], stdin?: string): EngineRun;
  /** Removes the directory, state included. */
  cleanup(): void;
}

/**
 * A scratch project for `stack`, its config copied from `Pulumi.<kind>.yaml`, node_modules and
 * package.json linked. The compiled program is linked, or copied with `copyProgram` (with
 * docs/METADATA_API.md and an empty runtime/, so that the metadata bundle is built from the copy,
 * which a test can then change).
 */
export function project(stack: string, opts: { copyProgram?: boolean } = {}): EngineProject {
  const dir = mkdtempSync(path.join(tmpdir(), `cs-engine-${stack}-`));
  mkdirSync(path.join(dir, ".state"));
  copyFileSync(path.join(repoRoot, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  copyFileSync(path.join(repoRoot, `Pulumi.${stack.split("-")[0]}.yaml`), path.join(dir, `Pulumi.${stack}.yaml`));
  for (const link of ["node_modules", "package.json"]) symlinkSync(path.join(repoRoot, link), path.join(dir, link));
  if (opts.copyProgram) {
    cpSync(path.join(repoRoot, "dist"), path.join(dir, "dist"), { recursive: true, filter: (src) => !src.includes(`${path.sep}metadata-bundle`) });
    mkdirSync(path.join(dir, "docs"));
    copyFileSync(path.join(repoRoot, "docs/METADATA_API.md"), path.join(dir, "docs/METADATA_API.md"));
    mkdirSync(path.join(dir, "runtime"));
  } else {
    symlinkSync(path.join(repoRoot, "dist"), path.join(dir, "dist"));
  }
  const policyDir = path.join(repoRoot, "policy");
  const policyPack = path.join(dir, "policy-pack");
  const runPolicyPack = path.join(repoRoot, "node_modules/@pulumi/pulumi/cmd/run-policy-pack");
  writeFileSync(policyPack, `#!/bin/sh\ncd '${policyDir}' && exec '${process.execPath}' '${runPolicyPack}' "$@" '${policyDir}'\n`, { mode: 0o755 });
  const env = {
    ...process.env,
    // The engine, the dynamic-provider shim @pulumi/pulumi ships, and this test's node.
    PATH: [bin, path.join(repoRoot, "node_modules/@pulumi/pulumi"), path.dirname(process.execPath), process.env.PATH ?? ""].join(path.delimiter),
    PULUMI_HOME: path.join(engine, "home"),
    PULUMI_BACKEND_URL: `file://${path.join(dir, ".state")}`,
    PULUMI_CONFIG_PASSPHRASE: "cloudsync engine test passphrase",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  return {
    dir,
    policyPack,
    pulumi: (args, stdin) => {
      const started = performance.now();
      const r = spawnSync(path.join(bin, "pulumi"), [...args, "--non-interactive", "--cwd", dir], { env, encoding: "utf8", timeout: 300_000, input: stdin });
      return { status: r.status, out: `${r.stdout}${r.stderr}`, seconds: (performance.now() - started) / 1000 };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs each command in turn, expecting exit 0 (the CLI's output is the failure message); returns the last output. */
export function allOk(p: EngineProject, steps: string[][]): string {
  let out = "";
  for (const args of steps) {
    const r = p.pulumi(args);
    expect(r.status, r.out).toBe(0);
    out = r.out;
  }
  return out;
}
