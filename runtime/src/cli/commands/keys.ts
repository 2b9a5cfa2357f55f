import { dirname, resolve } from "node:path";
import { mkdir } from "node:fs/promises";
import type { Command } from "commander";
import { generateAgeIdentity, writeIdentityFile } from "../../crypto/index.js";
import { defaultIdentityPath } from "../../config/config.js";
import type { CliApp } from "../app.js";

/** `cloudsync keys new`: create an age identity and print its recipient. */
export function register(program: Command, app: CliApp): void {
  const keys = program.command("keys").description("Manage encryption keys");
  keys
    .command("new")
    .description("Create an age X25519 identity (private, mode 0600) and print its recipient (public, goes in the backup config)")
    .option("-o, --out <file>", `where to write the identity (default ${defaultIdentityPath()}); refuses to overwrite`)
    .action(
      app.action(async (ctx) => {
        const out = resolve((ctx.opts.out as string | undefined) ?? defaultIdentityPath());
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
      }),
    );
}
