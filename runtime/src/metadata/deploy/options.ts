/**
 * Where and how the metadata server is installed on its host. Shared by every deploy builder so
 * the unit, the env file, the proxy site and the remote steps always agree on paths and names.
 */
import { ConfigError } from "../../errors.js";
export interface MetadataHostOptions {
  /** systemd unit name without `.service`. Default `cloudsync-metadata`. */
  readonly serviceName?: string;
  /** Unprivileged account the server runs as. Default `cloudsync-metadata`. */
  readonly user?: string;
  /** Release directory root: releases go under `<appDir>/releases/<id>`, `<appDir>/current` links the live one. Default `/opt/cloudsync-metadata`. */
  readonly appDir?: string;
  /** Writable state (the SQLite database and its WAL). Default `/var/lib/cloudsync-metadata`. */
  readonly dataDir?: string;
  /** Documentation served under `/docs`. Default `<dataDir>/docs`. */
  readonly docsDir?: string;
  /** Path of the env file the unit loads. Default `/etc/cloudsync-metadata/env`. */
  readonly envFile?: string;
  /** Absolute path of the node binary on the host. Default `/usr/bin/node`. */
  readonly nodePath?: string;
  /** Address the server binds; the reverse proxy is the only public listener. Default `127.0.0.1`. */
  readonly host?: string;
  /** Port the server binds. Default `8787`. */
  readonly port?: number;
  /**
   * systemd `MemoryMax` in MiB (hard cap; the server is killed and restarted above it); the unit's
   * `MemoryHigh` is three quarters of it. Default 192, so MemoryHigh=144M: the measured peak
   * (`npm run bench:api`, Node 24, 2026-12-03, with MALLOC_ENV) is VmHWM 82-85 MiB under read load
   * and 116-124 MiB after a flood of 300 unsigned or forged 1 MiB pushes, 20 at a time (131 MiB
   * once without MALLOC_ENV); a lower cap would let anyone without the key get the server
   * throttled or killed. See docs/JEFFREYSANFORD_DEPLOY.md, "Memory".
   */
  readonly memoryMaxMiB?: number;
}

/** `MetadataHostOptions` with every default applied. */
export type ResolvedHostOptions = Required<MetadataHostOptions>;

/** The file, relative to a release directory, that systemd starts. */
export const SERVER_ENTRY = "dist/runtime/src/metadata/serve-main.js";

/**
 * V8 flags that keep the resident set small: the server's working set is a few pages of JSON
 * (the models live in SQLite; the response cache is 1 MiB). A 1 MiB semi-space and a 24 MiB
 * old-space cap bound the heap: V8 grows the old space towards its cap before collecting, so under
 * `bench:api` load a 48 MiB cap let RssAnon reach 54-67 MiB and 24 MiB keeps it at 27-30 MiB
 * (16 MiB: 30-32, no better; 22-24 with MALLOC_ENV below), with no loss in requests/s; the largest push (1 MiB of `[{},…]`,
 * ~10 MiB of heap once parsed) still fits. `--v8-pool-size=1` keeps one V8 helper thread instead
 * of one per core (each idle helper costs ~1.5 MiB of malloc arena and stack; measured −4 to
 * −5 MiB VmRSS). `--jitless` or `--lite-mode` would save another ~18 MiB of VmRSS under load, at
 * 40-60 % of the requests/s: not taken (issue 13, item 6).
 */
export const NODE_FLAGS = ["--max-semi-space-size=1", "--max-old-space-size=24", "--v8-pool-size=1"] as const;

/**
 * glibc malloc settings the server runs with: the unit's `Environment=` (a variable of the same
 * name in the env file wins) and the environment `cloudsync serve-metadata` execs serve-main.js
 * with. Malloc'd memory counts in RssAnon and no V8 flag touches it. Under `bench:api` read load
 * glibc held 16 MiB of it with 4.6 MiB in use: the rest was freed memory it keeps because live
 * chunks sit above it (7.7 MiB in another thread's arena with 0.2 MiB in use, most likely the V8
 * helper's freed compiler zones, 8-32 KiB segments; 3.7 MiB in the main arena): `malloc_trim(0)`,
 * called from gdb, gave back 10 MiB.
 * `MALLOC_MMAP_THRESHOLD_=8192` serves blocks of 8 KiB and more with their own mappings, returned
 * to the kernel when freed, and fixes the threshold that glibc otherwise raises to 1 MiB after the
 * first freed push body. Measured 2026-12-03 (`npm run bench:api`, and alternating wrk rounds
 * against servers side by side; shared 2-core machine, load average 5-11): RssAnon under read load
 * 22-24 MiB in 9 runs against 28-32 MiB in 12 on glibc's defaults (once 42.6), after the push
 * flood 55-64 against 46-71; requests/s within the machine's noise, and CPU per request +3 % on
 * average (16.5-20.4 µs without, 18.2-19.4 with). A threshold of 16 or 32 KiB held 23-25 MiB after
 * 5 s of load but drifted back to 28-30 after 20 s. `MALLOC_ARENA_MAX=1` or `2` and
 * `MALLOC_TRIM_THRESHOLD_` (which trims only the top of an arena) left RssAnon under load at
 * 30-32 MiB: not taken (issue 13, item 6).
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: "8192" };

/** The unit's `Environment=` line of `MALLOC_ENV`. */
export function environmentLine(): string {
  return `Environment=${Object.entries(MALLOC_ENV).map(([k, v]) => `${k}=${v}`).join(" ")}`;
}

/**
 * Applies defaults and rejects values that would produce a broken or unsafe unit (relative
 * paths, whitespace or quotes in paths, a root service user, a bad port).
 * Throws `Error` naming the option; pure otherwise.
 */
export function resolveHostOptions(opts: MetadataHostOptions = {}): ResolvedHostOptions {
  const dataDir = opts.dataDir ?? "/var/lib/cloudsync-metadata";
  const resolved: ResolvedHostOptions = {
    serviceName: opts.serviceName ?? "cloudsync-metadata",
    user: opts.user ?? "cloudsync-metadata",
    appDir: opts.appDir ?? "/opt/cloudsync-metadata",
    dataDir,
    docsDir: opts.docsDir ?? `${dataDir}/docs`,
    envFile: opts.envFile ?? "/etc/cloudsync-metadata/env",
    nodePath: opts.nodePath ?? "/usr/bin/node",
    host: opts.host ?? "127.0.0.1",
    port: opts.port ?? 8787,
    memoryMaxMiB: opts.memoryMaxMiB ?? 192,
  };
  for (const key of ["appDir", "dataDir", "docsDir", "envFile", "nodePath"] as const) {
    // These land unquoted in unit files and shell lines: keep them to a safe alphabet.
    if (!/^\/[A-Za-z0-9._/@+-]*$/.test(resolved[key])) throw new ConfigError(`deploy option ${key}`, `must be an absolute path of letters, digits and ._/@+- (got ${JSON.stringify(resolved[key])})`);
  }
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(resolved.user)) throw new ConfigError("deploy option user", `not a valid user name: ${JSON.stringify(resolved.user)}`);
  if (resolved.user === "root") throw new ConfigError("deploy option user", "the server must not run as root");
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(resolved.serviceName)) throw new ConfigError("deploy option serviceName", `not a valid unit name: ${JSON.stringify(resolved.serviceName)}`);
  if (!Number.isInteger(resolved.port) || resolved.port < 1 || resolved.port > 65535) throw new ConfigError("deploy option port", `must be 1-65535 (got ${resolved.port})`);
  if (!/^[0-9a-fA-F.:]+$|^localhost$/.test(resolved.host)) throw new ConfigError("deploy option host", `must be an IP address or localhost (got ${JSON.stringify(resolved.host)})`);
  if (!Number.isInteger(resolved.memoryMaxMiB) || resolved.memoryMaxMiB < 32) throw new ConfigError("deploy option memoryMaxMiB", `must be an integer ≥ 32 (got ${resolved.memoryMaxMiB})`);
  return resolved;
}

/** The ExecStart command line: node with the small-heap flags and the server entry of the live release. */
export function execStartLine(opts: ResolvedHostOptions): string {
  return [opts.nodePath, ...NODE_FLAGS, `${opts.appDir}/current/${SERVER_ENTRY}`].join(" ");
}
