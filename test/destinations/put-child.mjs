// Child for the kill -9 tests: puts an endless body into a destination and prints "streaming"
// once a few MiB are on their way, then keeps going until it is killed.
// usage: node put-child.mjs <dist destinations/index.js> <destination spec> <key> [s3 options JSON] [remote settings JSON]
import { pathToFileURL } from "node:url";

const [modulePath, spec, key, s3Json, remotesJson] = process.argv.slice(2);
const { openDestination } = await import(pathToFileURL(modulePath).href);
const { Secret } = await import(pathToFileURL(modulePath.replace(/destinations\/index\.js$/, "secret.js")).href);
const s3 = s3Json ? JSON.parse(s3Json) : {};
if (s3.secretAccessKey) s3.secretAccessKey = new Secret(s3.secretAccessKey);
const remotes = remotesJson ? JSON.parse(remotesJson) : {};
if (remotes.azure?.connectionString) remotes.azure.connectionString = new Secret(remotes.azure.connectionString);
const dest = openDestination(spec, s3, remotes);
const chunk = Buffer.alloc(256 * 1024, 0x5a);
let sent = 0;
async function* body() {
  for (;;) {
    yield chunk;
    sent += chunk.length;
    if (sent === 12 * 1024 * 1024) process.stdout.write("streaming\n");
    // Slow enough that the parent's kill lands mid-upload.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
await dest.put(key, body());
