#!/usr/bin/env node
// Entry point of the installed CLI: the compiled program lives in dist/ (built by `npm install`
// through the package's prepare script, or `npm run build`), imported only after the environment
// below is set.
import { availableParallelism } from "node:os";

// The AWS SDK prints a notice on a Node line nearing its end of life; the runtimes supported here
// are package.json's engines (Node 24 LTS, 22.15+), and the notice would clutter every S3 command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// gzip blocks are compressed on libuv's thread pool and one pool thread stays free for file I/O;
// the default pool of 4 would cap compression at 3 cores. Must be set before the pool starts.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism() + 2));

const { main } = await import("../dist/runtime/src/cli/main.js");
process.exitCode = await main(process.argv.slice(2));
