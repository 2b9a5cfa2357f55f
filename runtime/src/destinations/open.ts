import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../errors.js";
import type { Destination } from "./destination.js";
import { createLocalDestination } from "./local.js";
import { createS3Destination, type S3DestinationOptions } from "./s3.js";

/**
 * Opens a destination from its spec: `s3://bucket[/prefix]` (endpoint, region and credentials
 * from `s3`; the spec's bucket and prefix win over `s3.bucket`/`s3.prefix`), `file:///abs/path`,
 * or a plain path (relative paths resolve against the current directory). Nothing is contacted
 * or created here. An empty spec, a bucket-less s3 URL or another scheme → ConfigError("destination", …).
 */
export function openDestination(spec: string, s3: Partial<S3DestinationOptions> = {}): Destination {
  const hint = "use a path, file:///path or s3://bucket/prefix";
  if (!spec) throw new ConfigError("destination", `is empty; ${hint}`);
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(spec)?.[1]?.toLowerCase();
  if (scheme === undefined) return createLocalDestination(path.resolve(spec));
  if (scheme === "file") {
    try {
      return createLocalDestination(fileURLToPath(spec));
    } catch (err) {
      throw new ConfigError("destination", `${JSON.stringify(spec)} is not a valid file URL; ${hint}`, { cause: err });
    }
  }
  if (scheme === "s3") {
    const rest = spec.slice("s3://".length);
    const slash = rest.indexOf("/");
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? "" : rest.slice(slash + 1);
    if (!bucket) throw new ConfigError("destination", `${JSON.stringify(spec)} names no bucket; ${hint}`);
    return createS3Destination({ ...withoutUndefined(s3), bucket, prefix });
  }
  throw new ConfigError("destination", `unknown scheme "${scheme}://"; ${hint}`);
}

// Config objects carry `undefined` for unset fields; they must not override the defaults.
function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
