// The Azure Blob Storage server for the test suite: a user's own account when
// AZURE_TEST_CONNECTION_STRING is set, otherwise Azurite (Microsoft's storage emulator, the
// `azurite` dev dependency) started on 127.0.0.1, otherwise a skip reason every Azure test prints.
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import type { AzureBlobDestinationOptions } from "../../runtime/src/destinations/azblob.js";
import { Secret } from "../../runtime/src/secret.js";
import { superviseChild, type StartedService } from "./service.js";

/** Azurite's well-known development account (published in Azurite's documentation; not a secret). */
const DEV_ACCOUNT = "devstoreaccount1";
const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** The connection string of Azurite's development account at `endpoint` (http://127.0.0.1:<port>). */
export function azuriteConnectionString(endpoint: string): string {
  return `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};BlobEndpoint=${endpoint}/${DEV_ACCOUNT};`;
}

/**
 * Decides which Azure Blob service the run uses. AZURE_TEST_CONNECTION_STRING set → that
 * account, untouched (the tests create and delete their own containers). Else Azurite's blob
 * service from node_modules, on a free 127.0.0.1 port with its state in a fresh temporary
 * directory, stopped by PID (a watchdog does it if this process dies without its teardown).
 * Else, or when the start fails, AZURE_TEST_SKIP carries the reason. CLOUDSYNC_TEST_AZURE=off
 * skips the server on purpose.
 */
export async function startAzuriteForTests(): Promise<StartedService> {
  if (process.env.AZURE_TEST_CONNECTION_STRING) {
    return { env: { AZURE_TEST_CONNECTION_STRING: process.env.AZURE_TEST_CONNECTION_STRING }, note: "azure: using AZURE_TEST_CONNECTION_STRING" };
  }
  if (process.env.CLOUDSYNC_TEST_AZURE === "off") return { env: { AZURE_TEST_SKIP: "CLOUDSYNC_TEST_AZURE=off" }, note: "azure: CLOUDSYNC_TEST_AZURE=off; Azure tests skip" };
  let main: string;
  try {
    main = createRequire(import.meta.url).resolve("azurite/dist/src/blob/main.js");
  } catch {
    const reason = "Azurite is not installed (npm ci installs the azurite dev dependency) and AZURE_TEST_CONNECTION_STRING is not set";
    return { env: { AZURE_TEST_SKIP: reason }, note: `azure: ${reason}; Azure tests skip` };
  }
  const dir = await mkdtemp(path.join(tmpdir(), "cloudsync-azurite-"));
  const started = Date.now();
  // --skipApiVersionCheck: the SDK may be newer than the emulator's API version list.
  // --loose: Azurite otherwise refuses headers it does not implement instead of ignoring them.
  const child = spawn(process.execPath, [main, "--blobHost", "127.0.0.1", "--blobPort", "0", "--location", dir, "--skipApiVersionCheck", "--loose", "--silent"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  // A killed run leaves no emulator behind: the watchdog ends it by PID.
  const stop = superviseChild(child, dir);
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`no "listens on" line within 60 s; output: ${out.slice(-500)}`)), 60_000);
      const onData = (chunk: Buffer) => {
        out += String(chunk);
        const m = /listens on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`Azurite exited with ${code}: ${out.slice(-500)}`));
      });
    });
    child.stdout.resume();
    child.stderr.resume();
    return {
      env: { AZURE_TEST_CONNECTION_STRING: azuriteConnectionString(endpoint), AZURE_TEST_EMULATOR: "azurite" },
      stop,
      note: `azure: Azurite at ${endpoint} (state in ${dir}, started in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    };
  } catch (err) {
    const reason = `Azurite did not start: ${String((err as Error).message)}`;
    await stop();
    return { env: { AZURE_TEST_SKIP: reason }, note: `azure: ${reason}; Azure tests skip` };
  }
}

/** Why Azure tests must skip in this run, or undefined when a service is available. */
export function azureSkipReason(): string | undefined {
  if (process.env.AZURE_TEST_SKIP) return process.env.AZURE_TEST_SKIP;
  if (!process.env.AZURE_TEST_CONNECTION_STRING) return "AZURE_TEST_CONNECTION_STRING is not set (the global setup did not start Azurite)";
  return undefined;
}

/** Destination options for the test service and `container`. Retries back off quickly. */
export function azureTestOptions(container: string): AzureBlobDestinationOptions {
  return { container, connectionString: new Secret(process.env.AZURE_TEST_CONNECTION_STRING ?? ""), retryBaseDelayMs: 20 };
}
