# cligate: the gateway and its workers, with the claude CLI inside.
#   docker build -t cligate .
#   docker run -p 127.0.0.1:8787:8787 -v cligate-data:/data -e CLAUDE_CODE_OAUTH_TOKEN=... cligate
# Codex and Gemini CLIs are left out unless built with --build-arg OTHER_ENGINES=true.

FROM node:26-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# onnxruntime-node's install script fetches GPU binaries; the CPU ones ship in its npm tarball.
# package.json's allowScripts keeps it from running from npm 11.16 on; this image's npm 10 needs the variable.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY adapters ./adapters
COPY migrations ./migrations
COPY test ./test
COPY bench ./bench
# npm ci also builds (the "prepare" script): dist/ and the web chat bundle.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund
ARG OTHER_ENGINES=false
RUN if [ "$OTHER_ENGINES" != "true" ]; then \
      rm -rf node_modules/@openai/codex* node_modules/@google/gemini-cli node_modules/.bin/codex node_modules/.bin/gemini; \
    fi \
 && rm -rf test bench src dist/test adapters/*/*.test.ts

FROM node:26-bookworm-slim
# git and ripgrep are tools Claude Code likes to use in a workspace; tini reaps its children.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git ripgrep tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 cligate \
 && mkdir -p /data && chown cligate:cligate /data
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production \
    CLIGATE_DATA_DIR=/data \
    CLIGATE_HTTP_HOST=0.0.0.0 \
    CLAUDE_CONFIG_DIR=/data/claude \
    DISABLE_AUTOUPDATER=1
# The database, every conversation's workspace and the CLI's sessions live here: keep it on a volume.
VOLUME ["/data"]
USER cligate
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8787/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["tini", "--", "node", "/app/dist/src/cli.js"]
CMD ["start"]
