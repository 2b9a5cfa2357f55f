#!/usr/bin/env node
// Entry point of the installed CLI: the compiled program lives in dist/ (built by `npm install`
// through the package's prepare script, or `npm run build`).
import { main } from "../dist/runtime/src/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
