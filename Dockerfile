# DevTeam Runner image. Multi-stage, runs as a non-root user.
#
#   docker build --build-arg BASE_IMAGE=node:20-bookworm-slim -t devteam-runner .   (real deployments)
#   scripts/build-images.sh                                                         (here: no registry;
#       BASE_IMAGE=devteam-node:20, imported from a debootstrap rootfs + the nodejs package)
#
# The build context must contain node_modules installed by `npm ci` on the same platform
# (linux-x64, glibc): the image build does not need a package registry. Dev dependencies are
# pruned offline in the first stage.
ARG BASE_IMAGE=node:20-bookworm-slim

FROM ${BASE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY node_modules ./node_modules
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund --offline >/dev/null 2>&1 || npm prune --omit=dev --ignore-scripts --no-audit --no-fund --offline

FROM ${BASE_IMAGE} AS app
ENV NODE_ENV=production \
    DEVTEAM_HOST=0.0.0.0 \
    DEVTEAM_PORT=8787 \
    DEVTEAM_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY templates ./templates
COPY scripts/proxy.mjs scripts/ensure-deps.mjs ./scripts/
# The dashboard bundle when it was built (npm run build:web); the server serves what exists.
COPY dist ./dist
RUN mkdir -p /data && chown -R 1000:1000 /data
USER 1000:1000
EXPOSE 8787
VOLUME ["/data"]
# tsx runs the TypeScript sources (the project ships no separate JS build).
CMD ["node", "--import", "tsx", "src/main.ts"]
