// The one size grammar of cloudsync flags (`demo --size`, `oplog follow --slice-size`).
import { ConfigError } from "../errors.js";

/** Parses a size such as 64MiB, 1GiB, 500MB or 1048576 (bytes). Throws ConfigError naming `field`. */
export function parseSize(text: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kib|kb|mib|mb|gib|gb)?$/i.exec(text.trim());
  if (!m) throw new ConfigError(field, `"${text}" is not a size; use e.g. 64MiB or 1GiB`);
  const unit = (m[2] ?? "b").toLowerCase();
  const mult = { b: 1, kib: 1024, kb: 1000, mib: 1024 ** 2, mb: 1000 ** 2, gib: 1024 ** 3, gb: 1000 ** 3 }[unit as "b"];
  return Math.round(Number(m[1]) * mult);
}
