#!/usr/bin/env node
// Entry point of the installed CLI: the compiled program lives in dist/ (built by `npm install`
// through the package's prepare script, or `npm run build`).
// Node 20 is a supported runtime here (package.json engines); the AWS SDK's notice about it would
// only clutter every S3 command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const { main } = await import("../dist/runtime/src/cli/main.js");

process.exitCode = await main(process.argv.slice(2));
