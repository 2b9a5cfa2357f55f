// The implementation of `cloudsync keys new`, imported by ./keys.ts only when the command runs, so that
// its dependencies load only then.
import { dirname, resolve } from "node:path";
import { mkdir } from "node:fs/promises";
import { generateAgeIdentity, writeIdentityFile } from "../../crypto/index.js";
import type { Run } from "../app.js";
import type { KeysNewCommandOptions } from "./keys.js";
import { defaultIdentityPath } from "../../config/config.js";

/** Runs `cloudsync keys new`. */
export const run: Run<KeysNewCommandOptions> = async (ctx) => {
  const out = resolve(ctx.opts.out ?? defaultIdentityPath());
  await mkdir(dirname(out), { recursive: true, mode: 0o700 });
  const { identity, recipient } = generateAgeIdentity();
  await writeIdentityFile(out, identity, recipient);
  ctx.out.result({ identityFile: out, recipient }, () =>
    [
      `identity written to ${out} (mode 0600)`,
      `recipient: ${recipient}`,
      "",
      "Backups are encrypted to the recipient: put it in the backup host's config (CLOUDSYNC_RECIPIENTS or --recipient).",
      "The identity decrypts them. Keep a copy OFF the backup host and away from its cloud credentials",
      "(a password manager or an offline USB key): whoever holds the bucket keys must not also hold this file.",
      "Lose every copy of it and the backups cannot be restored by anyone.",
    ].join("\n"),
  );
};
