import { DEFAULTS, type Config } from "../config/config.js";
import { parseDuration, RETENTION } from "../config/duration.js";
import type { RetentionPolicy } from "./plan.js";

/** keep-within when the user chose none: a week for a local directory, a month for cloud storage (S3, Azure Blob, GCS; the seed's defaults). */
export const DEFAULT_KEEP_WITHIN = { local: DEFAULTS.keepWithin ?? "7d", cloud: "30d" } as const;

/**
 * The retention policy of `config`, with the default keep-within of {@link DEFAULT_KEEP_WITHIN}
 * for its destination unless the user chose a value. The configuration fills keepWithin with "7d"
 * by default, so an explicit 7d from a file or the environment cannot be told from the default;
 * `explicit` (the caller was given a value directly, e.g. a flag) always wins. `field` names the
 * setting in a ConfigError for a duration out of the RETENTION range.
 */
export function retentionPolicyOf(config: Config, opts: { explicit: boolean; field: string }): { policy: RetentionPolicy & { keepWithin: number }; keepWithin: string } {
  const r = config.retention;
  const chosen = opts.explicit || r.keepWithin !== DEFAULT_KEEP_WITHIN.local;
  const keepWithin = chosen ? r.keepWithin : /^(s3|azblob|gs):\/\//.test(config.destination) ? DEFAULT_KEEP_WITHIN.cloud : DEFAULT_KEEP_WITHIN.local;
  const policy = {
    ...(r.keepLast !== undefined ? { keepLast: r.keepLast } : {}),
    ...(r.keepDaily !== undefined ? { keepDaily: r.keepDaily } : {}),
    ...(r.keepWeekly !== undefined ? { keepWeekly: r.keepWeekly } : {}),
    ...(r.keepMonthly !== undefined ? { keepMonthly: r.keepMonthly } : {}),
    keepWithin: parseDuration(keepWithin, { name: opts.field, ...RETENTION }),
  };
  return { policy, keepWithin };
}
