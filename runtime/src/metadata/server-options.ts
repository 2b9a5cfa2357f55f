import { parseArgs } from "node:util";
import { ConfigError } from "../errors.js";
import { Secret } from "../secret.js";
import { API_KEY_PLACEHOLDER } from "./deploy/env-file.js";
import type { RateLimitOptions } from "./rate-limit.js";
import { DEFAULT_READ_RATE_LIMIT, type MetadataServerOptions } from "./server.js";

/** Variable holding the per-client read limit (see `parseReadRateLimit`); `--read-rate-limit` overrides it. */
export const READ_RATE_LIMIT_ENV = "METADATA_READ_RATE_LIMIT";

/** Server settings given as flags (`undefined`: not given, the environment decides). */
export interface ServerFlags {
  readonly db?: string;
  readonly port?: string;
  readonly host?: string;
  readonly docs?: string;
  readonly readRateLimit?: string;
}

/**
 * Builds server options from flags (`--db --port --host --docs --read-rate-limit`) falling back
 * to the environment (`METADATA_DB`, `METADATA_PORT` default 8787, `METADATA_HOST` default
 * 127.0.0.1, `METADATA_DOCS_DIR`, `METADATA_READ_RATE_LIMIT` default 50, `METADATA_TRUST_PROXY`,
 * `CLOUD_SYNC_API_KEY`). Throws `ConfigError` naming the flag or variable; an unknown flag throws
 * node's parseArgs error. What `serve-main.js` runs.
 */
export function serverOptionsFrom(argv: string[], env: NodeJS.ProcessEnv): MetadataServerOptions {
  const { values } = parseArgs({ args: argv, options: { db: { type: "string" }, port: { type: "string" }, host: { type: "string" }, docs: { type: "string" }, "read-rate-limit": { type: "string" } }, strict: true });
  return resolveServerOptions({ ...values, readRateLimit: values["read-rate-limit"] }, env);
}

/**
 * The one reading of the server's settings, shared by `serve-main.js` (through
 * `serverOptionsFrom`) and `cloudsync serve-metadata`, so both run the same server the same way.
 * Flags win over the environment (default `process.env`). Throws `ConfigError` naming the flag or variable.
 */
export function resolveServerOptions(flags: ServerFlags, env: NodeJS.ProcessEnv = process.env): MetadataServerOptions {
  const dbPath = flags.db ?? env.METADATA_DB;
  if (!dbPath) throw new ConfigError("--db", "the SQLite file is required (flag --db or METADATA_DB)");
  const portText = flags.port ?? env.METADATA_PORT ?? "8787";
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) throw new ConfigError(flags.port !== undefined ? "--port" : "METADATA_PORT", `must be a port number 0-65535 (got ${JSON.stringify(portText)})`);
  const key = env.CLOUD_SYNC_API_KEY;
  if (key === API_KEY_PLACEHOLDER) throw new ConfigError("CLOUD_SYNC_API_KEY", "still holds the template placeholder; put the shared secret in the env file");
  const trust = env.METADATA_TRUST_PROXY;
  const readLimit = flags.readRateLimit ?? env[READ_RATE_LIMIT_ENV];
  return {
    dbPath,
    port,
    host: flags.host ?? env.METADATA_HOST ?? "127.0.0.1",
    docsDir: flags.docs ?? env.METADATA_DOCS_DIR,
    apiKey: key ? new Secret(key) : undefined,
    trustProxy: trust === undefined || trust === "" || trust === "false" ? false : trust === "true" ? true : trust,
    readRateLimit: readLimit === undefined || readLimit === "" ? DEFAULT_READ_RATE_LIMIT : parseReadRateLimit(readLimit, flags.readRateLimit !== undefined ? "--read-rate-limit" : READ_RATE_LIMIT_ENV),
  };
}

/**
 * The environment `cloudsync serve-metadata` gives the deployed entry (`serve-main.js`): `base`
 * (the CLI's own environment) with `CLOUD_SYNC_API_KEY` set to `apiKey` (the configuration's push
 * secret, from the config file or the environment) or removed when there is none. Returns a new
 * object; `base` is not changed.
 */
export function serveEnv(base: NodeJS.ProcessEnv, apiKey: Secret | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  if (apiKey) env.CLOUD_SYNC_API_KEY = apiKey.reveal();
  else delete env.CLOUD_SYNC_API_KEY;
  return env;
}

/**
 * Parses a read limit: `off` (or `0`) turns it off; a number N allows each client N requests per
 * second with bursts of 2N. Throws `ConfigError(field)` otherwise.
 */
export function parseReadRateLimit(text: string, field: string): RateLimitOptions | false {
  if (text === "off" || text === "0") return false;
  const perSecond = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(perSecond > 0)) throw new ConfigError(field, `must be requests per second per client (e.g. 50) or "off" (got ${JSON.stringify(text)})`);
  return { burst: Math.max(1, Math.round(2 * perSecond)), perSecond };
}
