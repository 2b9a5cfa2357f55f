/**
 * The Backblaze B2 runtime application key, as a pure builder. Choice: one documented manual
 * step (the `b2` CLI), not a dynamic provider over `b2_create_key`. B2 returns the key's secret
 * only once, at creation; a dynamic provider would have to keep it in Pulumi state, could not
 * read it back to detect drift, and nothing here can exercise B2's native API for real. The
 * command below is printed as a stack output; its result goes into two Pulumi secrets.
 */

/**
 * Capabilities of the runtime key: list, read and write files; never delete, never bucket admin.
 * `listAllBucketNames` too: Backblaze's S3-compatible API documentation requires it of a key
 * restricted to one bucket "for compatibility with SDKs and integrations" (S3 clients list or
 * probe buckets before using one). It grants only the S3 ListBuckets call, which returns the
 * names and ids of the account's buckets, never their contents; docs/INFRA.md has the details.
 */
export const B2_RUNTIME_CAPABILITIES = ["listAllBucketNames", "listFiles", "readFiles", "writeFiles"] as const;

/** What the manual step creates. */
export interface B2KeySpec {
  readonly keyName: string;
  readonly bucket: string;
  readonly namePrefix: string;
  readonly capabilities: readonly string[];
  /** The exact `b2` CLI (v4) command to run once. */
  readonly command: string;
  /** The commands that store its output as this stack's secrets. */
  readonly storeCommands: readonly string[];
}

/**
 * Builds the key spec for `bucket` restricted to `namePrefix`. Throws `Error` on names the CLI
 * would reject or that need shell quoting (the command is meant to be pasted).
 */
export function b2RuntimeKeySpec(o: { bucket: string; namePrefix: string; keyName?: string; stack?: string }): B2KeySpec {
  const keyName = o.keyName ?? `${o.bucket}-runtime`;
  for (const [k, v] of [["bucket", o.bucket], ["namePrefix", o.namePrefix], ["keyName", keyName]] as const) {
    if (!/^[A-Za-z0-9._/-]+$/.test(v)) throw new Error(`b2 key ${k}: only letters, digits and ._/- are allowed, got ${JSON.stringify(v)}`);
  }
  const stack = o.stack ? ` -s ${o.stack}` : "";
  return {
    keyName,
    bucket: o.bucket,
    namePrefix: o.namePrefix,
    capabilities: B2_RUNTIME_CAPABILITIES,
    command: `b2 key create --bucket ${o.bucket} --name-prefix ${o.namePrefix} ${keyName} ${B2_RUNTIME_CAPABILITIES.join(",")}`,
    storeCommands: [`pulumi config set --secret${stack} cloudsync:b2RuntimeKeyId <applicationKeyId>`, `pulumi config set --secret${stack} cloudsync:b2RuntimeKey <applicationKey>`],
  };
}
