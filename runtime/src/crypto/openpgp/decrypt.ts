/**
 * OpenPGP decryption through the `gpg` binary (see encrypt.ts for why gpg).
 */
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Transform } from "node:stream";
import { AuthError, ConfigError, IntegrityError } from "../../errors.js";
import type { Secret } from "../../secret.js";
import { gpgMessages, gpgSpawnError, makeGpgHome, removeGpgHome, runGpg, spawnGpg, statusKeywords } from "./gpg.js";
import { createProcessTransform } from "./process-transform.js";

/**
 * Decrypt with an armored private key (imported into a throwaway GnuPG home; `passphrase`
 * unlocks it through loopback pinentry), or with the user's own keyring and gpg-agent.
 * `source` names the input in error messages.
 */
export type OpenPgpDecryptOptions = ({ privateKeyArmored: string; passphrase?: Secret } | { useGpgAgent: true }) & { source?: string };

/**
 * Returns a Transform that decrypts an OpenPGP message (binary or armored) written to it.
 *
 * No unauthenticated plaintext is ever emitted: gpg writes its output before it has checked the
 * message's integrity (MDC or AEAD tag) at the very end, so that output is spooled to a private
 * (0700) temporary directory and streamed on only after gpg reported DECRYPTION_OKAY and exited 0;
 * the spool is deleted either way. This needs free space in the temp directory equal to the
 * decrypted size (the compressed archive), and the first output byte comes after the last input
 * byte.
 *
 * Errors: AuthError when no secret key matches or the passphrase is wrong/missing;
 * IntegrityError when the input is not OpenPGP or fails gpg's integrity check;
 * ConfigError("gpg") when gpg is missing, ConfigError("identityFiles") when the key does not import.
 */
export function createOpenPgpDecryptStream(opts: OpenPgpDecryptOptions): Transform {
  const context = opts.source ? `openpgp decrypt ${opts.source}` : "openpgp decrypt";
  let home: string | undefined;
  let spoolDir: string | undefined;
  const spoolFile = (): string => join(spoolDir!, "plain");
  return createProcessTransform({
    streamStdout: false,
    async start() {
      spoolDir = await mkdtemp(join(tmpdir(), "cloudsync-spool-"));
      const args = ["--output", spoolFile()];
      if ("useGpgAgent" in opts) return spawnGpg([...args, "--decrypt"]);
      home = await makeGpgHome();
      const imported = await runGpg(["--import"], { home, input: opts.privateKeyArmored });
      if (imported.code !== 0 || !/^\[GNUPG:\] IMPORT_OK /m.test(imported.stderr)) {
        throw new ConfigError("identityFiles", `the OpenPGP private key could not be imported (${gpgMessages(imported.stderr)})`);
      }
      // Loopback pinentry with the passphrase on fd 3: never on the command line, where ps shows it.
      const child = spawnGpg([...args, "--pinentry-mode", "loopback", "--passphrase-fd", "3", "--decrypt"], home, 1);
      const fd3 = child.stdio[3] as NodeJS.WritableStream;
      fd3.on("error", () => undefined);
      fd3.end(opts.passphrase ? `${opts.passphrase.reveal()}\n` : "\n");
      return child;
    },
    async finish(code, stderr) {
      const status = statusKeywords(stderr);
      if (code === 0 && status.has("DECRYPTION_OKAY") && !status.has("DECRYPTION_FAILED")) return createReadStream(spoolFile());
      if (status.has("NODATA")) throw new IntegrityError(`${context}: not an OpenPGP message, or it is truncated (${gpgMessages(stderr)})`);
      // gpg 2.2 reports a bad loopback passphrase only as "ERROR pkdecrypt_failed <code>" with
      // libgpg-error code 11 (GPG_ERR_BAD_PASSPHRASE) or 99 (GPG_ERR_CANCELED) in the low 16 bits.
      const pkCode = /^\[GNUPG:\] ERROR pkdecrypt_failed (\d+)/m.exec(stderr)?.[1];
      const pkErr = pkCode === undefined ? undefined : Number(pkCode) & 0xffff;
      if (status.has("BAD_PASSPHRASE") || status.has("MISSING_PASSPHRASE") || pkErr === 11 || pkErr === 99) {
        throw new AuthError(`${context}: wrong or missing passphrase for the OpenPGP key; check the passphrase file`);
      }
      // NO_SECKEY for every recipient and no session key recovered (no DECRYPTION_INFO/PLAINTEXT).
      if (status.has("NO_SECKEY") && !status.has("DECRYPTION_INFO") && !status.has("PLAINTEXT")) {
        throw new AuthError(`${context}: none of the available OpenPGP secret keys can decrypt this backup; check that --identity (or your gpg keyring) has the key it was encrypted to`);
      }
      throw new IntegrityError(`${context}: gpg reports the data as damaged or altered (${gpgMessages(stderr) || `exit ${code}`})`);
    },
    spawnError: gpgSpawnError,
    async cleanup() {
      if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
      if (home) await removeGpgHome(home);
    },
  });
}
