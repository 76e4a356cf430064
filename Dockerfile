# destination-s3-export: the image an orchestrator runs as `spec`, `check` and `write`.
# Node 22 LTS (docs/operations.md, "Node versions"). Two stages: the build stage compiles TypeScript with the dev
# dependencies; the runtime stage holds production dependencies, dist/ and spec/ only.

FROM node:22-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

FROM node:22-bookworm-slim AS runtime
LABEL io.airbyte.name="airbyte/destination-s3-export"
LABEL io.airbyte.version="0.1.0"
# tini (Debian's, 270 kB) runs as PID 1 and forwards signals to node. The kernel gives PID 1 no
# default signal actions: node as PID 1 would ignore SIGTERM wherever it installs no handler
# (spec, check; write has its own), so `docker stop` or a pod deletion would wait for SIGKILL.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /airbyte
COPY package.json package-lock.json ./
# npm leaves its cache and debug logs in /root/.npm (the logs name every URL it fetched and the
# config files it read) and, on Node 22, its own compile cache in /tmp: none of it belongs in the
# image (scripts/image-test.sh lists the image's files).
RUN npm ci --omit=dev --no-audit --no-fund && rm -rf /root/.npm /tmp/*
COPY --from=build /build/dist ./dist
COPY spec ./spec
# The application files stay owned by root (read-only to the connector). Temp files go to
# TMPDIR (default /tmp); mount a volume there sized for temp_disk_budget_mb (docs/operations.md).
# Numeric user: the base image's `node` user, so that runAsNonRoot can verify it.
USER 1000:1000
# AIRBYTE_ENTRYPOINT is what Airbyte's launcher runs inside its own wrapper (which is PID 1 then).
ENV AIRBYTE_ENTRYPOINT="node /airbyte/dist/main.js"
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/airbyte/dist/main.js"]
