/**
 * Deploy artefacts of the metadata server, each a pure function (the bundle builder writes
 * files, nothing else does) so the infrastructure's MetadataServer component and the tests
 * produce exactly the same unit, env file, proxy site and remote steps.
 */
export { resolveHostOptions, execStartLine, environmentLine, SERVER_ENTRY, NODE_FLAGS, MALLOC_ENV, type MetadataHostOptions, type ResolvedHostOptions } from "./options.js";
export { renderSystemdUnit } from "./systemd-unit.js";
export { renderEnvFile, API_KEY_PLACEHOLDER, SERVER_ENV } from "./env-file.js";
export { renderProxySite, type ProxySiteOptions } from "./proxy-site.js";
export { buildServerBundle, type ServerBundle } from "./bundle.js";
export { deploySteps, type DeployStepsOptions } from "./steps.js";
