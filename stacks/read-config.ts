/**
 * The only place a stack touches Pulumi's config store: it hands the flat map and the set of
 * secret keys to the pure `readConfig`, and gives the stacks typed access to secret values.
 */
import * as pulumi from "@pulumi/pulumi";
import { createRequire } from "node:module";
import { readConfig, type ConfigSchema, type ConfigValues, type CrossCheck } from "../infra/config.js";
import { NS } from "./schemas.js";

// `isConfigSecret` is how the SDK itself tells secret keys apart; it is not re-exported, so it
// is loaded from its module. When absent (another SDK layout) every set key counts as secret,
// which only loses the "stored in plain text" check, never a value.
const sdkConfig = createRequire(import.meta.url)("@pulumi/pulumi/runtime/config.js") as { isConfigSecret?: (k: string) => boolean };

/** Reads and validates the current stack's `cloudsync:` config against `schema` (throws `StackConfigError`). */
export function loadStackConfig<T extends ConfigSchema>(schema: T, cross?: CrossCheck<T>): ConfigValues<T> {
  const values = pulumi.runtime.allConfig();
  const isSecret = sdkConfig.isConfigSecret ?? (() => true);
  const secretKeys = new Set(Object.keys(values).filter((k) => isSecret(k)));
  return readConfig(NS, schema, { values, secretKeys }, cross);
}

/** A required secret value as a Pulumi secret output. Call only for keys `loadStackConfig` checked. */
export function secret(key: string): pulumi.Output<string> {
  return new pulumi.Config(NS).requireSecret(key);
}
