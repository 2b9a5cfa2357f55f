import { statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../errors.js";
import type { Destination } from "./destination.js";
import { createLocalDestination } from "./local.js";
import { createS3Destination, type S3DestinationOptions } from "./s3.js";
import { createAzureBlobDestination, type AzureBlobDestinationOptions } from "./azblob.js";
import { createGcsDestination, type GcsDestinationOptions } from "./gcs.js";
import { withLogging, withProgress } from "./wrappers.js";

/** Credentials and endpoints of the non-S3 object stores, from the configuration. */
export interface RemoteSettings {
  readonly azure?: Partial<AzureBlobDestinationOptions>;
  readonly gcs?: Partial<GcsDestinationOptions>;
}

/**
 * The cross-cutting behaviour `openDestination` wraps around the destination it opens, each one
 * a wrapper of destinations/wrappers.ts; absent ones are not applied. Retries are not among
 * them: they stay inside each implementation, per request (see `Destination`).
 */
export interface DestinationWrappers {
  /** Called as each put's body is read, with the key and the running byte total (`withProgress`). */
  readonly onPutBytes?: (key: string, total: number) => void;
  /** Receives one line per finished put, get, head or delete: what, which key, how long, the error class (`withLogging`). */
  readonly log?: (line: string) => void;
}

/**
 * Opens a destination from its spec: `s3://bucket[/prefix]` (endpoint, region and credentials
 * from `s3`; the spec's bucket and prefix win over `s3.bucket`/`s3.prefix`),
 * `azblob://container[/prefix]` (credentials from `remotes.azure`), `gs://bucket[/prefix]`
 * (credentials from `remotes.gcs`), `file:///abs/path`, or a plain path (relative paths resolve
 * against the current directory). Nothing is contacted or created here. An empty spec, a
 * bucket-less URL, another scheme, or a local path that is (or lies under) a regular file →
 * ConfigError("destination", …); missing cloud credentials → ConfigError naming them.
 *
 * This is the one place destinations get their wrappers: `wrappers` are composed around the
 * opened destination here (progress innermost, so it counts what the store is handed; logging
 * outermost, so it times the whole operation).
 */
export function openDestination(spec: string, s3: Partial<S3DestinationOptions> = {}, remotes: RemoteSettings = {}, wrappers: DestinationWrappers = {}): Destination {
  let dest = openUnwrapped(spec, s3, remotes);
  if (wrappers.onPutBytes) dest = withProgress(dest, wrappers.onPutBytes);
  if (wrappers.log) dest = withLogging(dest, wrappers.log);
  return dest;
}

function openUnwrapped(spec: string, s3: Partial<S3DestinationOptions>, remotes: RemoteSettings): Destination {
  const hint = "use a path, file:///path, s3://bucket/prefix, azblob://container/prefix or gs://bucket/prefix";
  if (!spec) throw new ConfigError("destination", `is empty; ${hint}`);
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(spec)?.[1]?.toLowerCase();
  if (scheme === undefined) return openLocal(path.resolve(spec));
  if (scheme === "file") {
    let dir: string;
    try {
      dir = fileURLToPath(spec);
    } catch (err) {
      throw new ConfigError("destination", `${JSON.stringify(spec)} is not a valid file URL; ${hint}`, { cause: err });
    }
    return openLocal(dir);
  }
  if (scheme === "s3" || scheme === "azblob" || scheme === "gs") {
    const rest = spec.slice(scheme.length + "://".length);
    const slash = rest.indexOf("/");
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? "" : rest.slice(slash + 1);
    if (!bucket) throw new ConfigError("destination", `${JSON.stringify(spec)} names no ${scheme === "azblob" ? "container" : "bucket"}; ${hint}`);
    if (scheme === "azblob") return createAzureBlobDestination({ ...withoutUndefined(remotes.azure ?? {}), container: bucket, prefix });
    if (scheme === "gs") return createGcsDestination({ ...withoutUndefined(remotes.gcs ?? {}), bucket, prefix });
    return createS3Destination({ ...withoutUndefined(s3), bucket, prefix });
  }
  throw new ConfigError("destination", `unknown scheme "${scheme}://"; ${hint}`);
}

// A local destination is a directory, created on first write: a regular file at the path or at
// one of its parents would only fail later as ENOTDIR/EEXIST, so say so now.
function openLocal(dir: string): Destination {
  for (let p = dir; ; p = path.dirname(p)) {
    const stat = statSync(p, { throwIfNoEntry: false });
    if (stat && !stat.isDirectory()) {
      const where = p === dir ? `${dir} is a file` : `${p} (in ${dir}) is a file`;
      throw new ConfigError("destination", `${where}, not a directory; a local destination is a directory of backups, so give a directory path (it is created if missing)`);
    }
    if (stat || path.dirname(p) === p) break;
  }
  return createLocalDestination(dir);
}

// Config objects carry `undefined` for unset fields; they must not override the defaults.
function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
