# syntax=docker/dockerfile:1
# recsys-pipelines image: the CLI as entrypoint, run as a non-root user, for the Helm chart
# in deploy/helm/recsys-pipelines (docs/kubernetes.md).
#
#   docker build -t recsys-pipelines:0.1.0 .
#   docker run --rm recsys-pipelines:0.1.0 --help
#
# test/deploy/dockerfile.test.ts runs these RUN and COPY steps outside Docker (no image can
# be built on the development machines) and checks that the final tree runs the CLI.

# Stage 1: every dependency (tsc is a devDependency) and the build.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
COPY bench ./bench
RUN npm run build

# Stage 2: production dependencies only, the compiled CLI, no compiler, no tests.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY bin ./bin
COPY --from=build /src/dist/src ./dist/src
# Numeric, so that Kubernetes can check runAsNonRoot; the chart runs it with the same id.
USER 10001:10001
ENTRYPOINT ["node", "/app/bin/recsys-pipelines.js"]
CMD ["--help"]
