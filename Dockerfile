# The cloudsync runtime image: the BackupAgent container of the `local` stack runs
# `node bin/cloudsync.js daemon` from it. Built from the repository after `npm run build`
# (the image takes the compiled dist/, it does not compile).
#   npm run build && docker build -t cloudsync-agent:local .
FROM node:24-slim

ENV NODE_ENV=production \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /app

# Dependencies first, so code changes reuse this layer. `prepare` compiles TypeScript, which a
# production install neither has nor needs; better-sqlite3's Node-API prebuild is in its package.
COPY package.json package-lock.json ./
RUN npm pkg delete scripts.prepare \
 && npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

COPY bin/ ./bin/
COPY dist/runtime/ ./dist/runtime/

# An empty named volume mounted here inherits this ownership, so the non-root user can write it.
RUN mkdir -p /backups && chown node:node /backups
USER node
VOLUME ["/backups"]

# `cloudsync status` exits non-zero when the last scheduled run failed or is overdue.
HEALTHCHECK --interval=5m --timeout=30s --start-period=2m --retries=2 \
  CMD ["node", "bin/cloudsync.js", "status"]

CMD ["node", "bin/cloudsync.js", "daemon"]
