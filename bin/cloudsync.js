#!/usr/bin/env node
// Entry point of the installed CLI: the compiled program lives in dist/ (built by `npm install`
// through the package's prepare script, or `npm run build`), imported only after the environment
// below is set.
import { setFlagsFromString } from "node:v8";

// package.json's engines, checked before anything loads: an older Node fails later with a linker
// error about node:zlib's zstd, which says nothing about what to do.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 15)) {
  const message = `Node.js 22.15 or newer is needed (24 LTS recommended); this is ${process.version}. Install Node.js 24 LTS, or, from a clone on Linux x64, run it through scripts/use-node.sh (for example \`scripts/use-node.sh npm run demo\`), which fetches the pinned Node 24 from the npm registry`;
  if (process.argv.includes("--json")) process.stdout.write(`${JSON.stringify({ error: { code: "config", exitCode: 2, message } })}\n`);
  process.stderr.write(`cloudsync: ${message}\n`);
  process.exit(2);
}

// The AWS SDK prints a notice on a Node line nearing its end of life; the runtimes supported here
// are package.json's engines (Node 24 LTS, 22.15+), and the notice would clutter every S3 command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// Keep V8's young generation at its initial size instead of letting it grow to 16 MiB and more.
// The data commands stream Buffers whose memory lives outside the JS heap: a large young
// generation is collected rarely, and every collection it skips keeps tens of MiB of spent
// chunks allocated. Measured on a 256 MiB `backup --from-archive` (none, gzip): peak RSS 175–190
// MiB without this flag, 115–130 with it, at the same speed. (--max-semi-space-size cannot be
// changed once the heap exists; the growth factor can.)
setFlagsFromString("--semi-space-growth-factor=1");

const { main } = await import("../dist/runtime/src/cli/main.js");
process.exitCode = await main(process.argv.slice(2));
