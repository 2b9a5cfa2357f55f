import { parseArgs } from "node:util";
import { ConfigError } from "../errors.js";
import { Secret } from "../secret.js";
import { API_KEY_PLACEHOLDER } from "./deploy/env-file.js";
import type { MetadataServerOptions } from "./server.js";

/**
 * Builds server options from flags (`--db --port --host --docs`) falling back to the environment
 * (`METADATA_DB`, `METADATA_PORT` default 8787, `METADATA_HOST` default 127.0.0.1,
 * `METADATA_DOCS_DIR`, `METADATA_TRUST_PROXY`, `CLOUD_SYNC_API_KEY`). Throws `ConfigError`
 * naming the flag or variable; an unknown flag throws node's parseArgs error.
 */
export function serverOptionsFrom(argv: string[], env: NodeJS.ProcessEnv): MetadataServerOptions {
  const { values } = parseArgs({ args: argv, options: { db: { type: "string" }, port: { type: "string" }, host: { type: "string" }, docs: { type: "string" } }, strict: true });
  const dbPath = values.db ?? env.METADATA_DB;
  if (!dbPath) throw new ConfigError("--db", "the SQLite file is required (flag --db or METADATA_DB)");
  const portText = values.port ?? env.METADATA_PORT ?? "8787";
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) throw new ConfigError(values.port ? "--port" : "METADATA_PORT", `must be a port number 0-65535 (got ${JSON.stringify(portText)})`);
  const key = env.CLOUD_SYNC_API_KEY;
  if (key === API_KEY_PLACEHOLDER) throw new ConfigError("CLOUD_SYNC_API_KEY", "still holds the template placeholder; put the shared secret in the env file");
  const trust = env.METADATA_TRUST_PROXY;
  return {
    dbPath,
    port,
    host: values.host ?? env.METADATA_HOST ?? "127.0.0.1",
    docsDir: values.docs ?? env.METADATA_DOCS_DIR,
    apiKey: key ? new Secret(key) : undefined,
    trustProxy: trust === undefined || trust === "" || trust === "false" ? false : trust === "true" ? true : trust,
  };
}
