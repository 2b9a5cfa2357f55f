/**
 * OpenPGP encryption through the `gpg` binary.
 *
 * Why gpg and not the openpgp npm package: the people who ask for OpenPGP have their keys in
 * GnuPG (keyring, agent, smartcards), and what must hold is "gpg --decrypt reads it" — using gpg
 * itself makes that true by construction, for every key type and packet format their gpg
 * supports. It also streams in C at disk speed with constant memory. openpgp.js v6 streams only
 * Web Streams, refuses (by default) to release plaintext before the whole message is verified,
 * so decryption would buffer the entire backup in memory, and cannot use keys held by gpg-agent.
 * The cost is a runtime dependency on the gpg binary (Debian package gnupg), reported as a
 * ConfigError("gpg") when absent.
 */
import type { Transform } from "node:stream";
import { ConfigError, LocalIOError } from "../../errors.js";
import { gpgMessages, gpgSpawnError, makeGpgHome, removeGpgHome, runGpg, spawnGpg, statusKeywords } from "./gpg.js";
import { openPgpFingerprints } from "./keys.js";
import { createProcessTransform } from "./process-transform.js";

/** Encrypt to the OpenPGP public keys in `publicKeys` (armored; several keys may be concatenated). */
export interface OpenPgpEncryptOptions {
  publicKeys: string;
}

/**
 * Returns a Transform that OpenPGP-encrypts its input to every primary key in `publicKeys`
 * (gpg picks each key's encryption subkey), binary output, as `gpg --encrypt` writes it.
 * The keys are imported into a throwaway GnuPG home (the user's keyring is never touched) and
 * trusted for this run only (`--trust-model always`: the caller chose them explicitly).
 * Compression is off: the archive is compressed before encryption.
 *
 * Throws ConfigError("gpgRecipients") synchronously when the text holds no public key; emits
 * ConfigError("gpg") when gpg is missing and ConfigError("gpgRecipients") when gpg rejects a key.
 */
export function createOpenPgpEncryptStream(opts: OpenPgpEncryptOptions): Transform {
  const fingerprints = openPgpFingerprints(opts.publicKeys);
  if (fingerprints.length === 0) throw new ConfigError("gpgRecipients", "no OpenPGP public key found (expected an armored PUBLIC KEY BLOCK)");
  let home: string | undefined;
  return createProcessTransform({
    streamStdout: true,
    async start() {
      home = await makeGpgHome();
      const imported = await runGpg(["--import"], { home, input: opts.publicKeys });
      if (imported.code !== 0) throw new ConfigError("gpgRecipients", `gpg could not import the public key(s): ${gpgMessages(imported.stderr)}`);
      const recipients = fingerprints.flatMap((f) => ["--recipient", f]);
      return spawnGpg(["--trust-model", "always", "--compress-algo", "none", "--output", "-", ...recipients, "--encrypt"], home);
    },
    async finish(code, stderr) {
      if (code === 0) return undefined;
      const status = statusKeywords(stderr);
      if (status.has("INV_RECP")) throw new ConfigError("gpgRecipients", `gpg rejected a recipient key: ${gpgMessages(stderr)}`);
      throw new LocalIOError(`openpgp encrypt: gpg failed (exit ${code}): ${gpgMessages(stderr)}`);
    },
    spawnError: gpgSpawnError,
    async cleanup() {
      if (home) await removeGpgHome(home);
    },
  });
}
