#!/usr/bin/env bash
# Build a sandbox image locally, without pulling from any registry:
#   debootstrap (minbase) a Debian rootfs from the machine's configured apt mirror,
#   add a non-root user `devteam` (uid/gid 1000) and /workspace, then `docker import` it.
#
# Usage: build-sandbox-image.sh [name] [--include pkg1,pkg2] [--packages pkg1,pkg2] [--force]
#                               [--suite bookworm] [--mirror URL] [--cache-dir DIR]
#   name        image name (default devteam-sandbox:bookworm)
#   --include   extra packages on top of the default list
#   --packages  replace the default package list (e.g. a small test image)
#   --force     rebuild even if the image exists (the cached rootfs tarball is still reused;
#               delete it from the cache dir to re-debootstrap)
#
# The rootfs tarball is cached under $DEVTEAM_CACHE_DIR (default /var/cache/devteam), keyed by
# suite + mirror + package list, so a rebuild only re-runs `docker import` (a few seconds).
# Concurrent invocations are serialised with flock, so parallel callers never build twice.
# Needs root (debootstrap), debootstrap and a running engine (scripts/install-docker.sh).
set -euo pipefail

NAME="devteam-sandbox:bookworm"
SUITE="bookworm"
PACKAGES="git,ca-certificates,nodejs,npm,procps,curl,openssh-client,make,xz-utils"
EXTRA=""
FORCE=0
MIRROR=""
CACHE_DIR="${DEVTEAM_CACHE_DIR:-/var/cache/devteam}"

log() { printf '[build-sandbox-image] %s\n' "$*" >&2; }
die() { printf '[build-sandbox-image] ERROR: %s\n' "$*" >&2; exit 1; }

name_set=0
while [ $# -gt 0 ]; do
  case "$1" in
    --include) EXTRA="${2:?--include needs a value}"; shift 2 ;;
    --include=*) EXTRA="${1#*=}"; shift ;;
    --packages) PACKAGES="${2:?--packages needs a value}"; shift 2 ;;
    --packages=*) PACKAGES="${1#*=}"; shift ;;
    --force) FORCE=1; shift ;;
    --suite) SUITE="${2:?}"; shift 2 ;;
    --mirror) MIRROR="${2:?}"; shift 2 ;;
    --cache-dir) CACHE_DIR="${2:?}"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) die "unknown option: $1" ;;
    *) [ "$name_set" -eq 0 ] || die "more than one image name given"; NAME="$1"; name_set=1; shift ;;
  esac
done
[ -n "$EXTRA" ] && PACKAGES="$PACKAGES,$EXTRA"
# Normalise: sorted, unique, comma-separated (so the cache key does not depend on order).
PACKAGES="$(printf '%s' "$PACKAGES" | tr ',' '\n' | sed '/^$/d' | sort -u | paste -sd, -)"

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap needs it)"
command -v docker >/dev/null 2>&1 || die "docker CLI missing: run scripts/install-docker.sh"
docker info >/dev/null 2>&1 || die "docker engine not answering: run scripts/install-docker.sh"

image_exists() { docker image inspect "$NAME" >/dev/null 2>&1; }

if [ "$FORCE" -eq 0 ] && image_exists; then
  log "image $NAME already exists (use --force to rebuild)"
  exit 0
fi

# shellcheck source=lib/debian-mirror.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/debian-mirror.sh"
[ -n "$MIRROR" ] || MIRROR="$(detect_mirror)"
[ -n "$MIRROR" ] || die "could not find a Debian mirror in /etc/apt/sources.list(.d); pass --mirror URL"

mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/build.lock"
log "waiting for the build lock ($CACHE_DIR/build.lock)"
flock 9
# Someone else may have built it while we waited.
if [ "$FORCE" -eq 0 ] && image_exists; then
  log "image $NAME was built by a concurrent run"
  exit 0
fi

KEY="$(printf '%s|%s|%s|v1' "$SUITE" "$MIRROR" "$PACKAGES" | sha256sum | cut -c1-16)"
TARBALL="$CACHE_DIR/rootfs-$SUITE-$KEY.tar"

if [ -s "$TARBALL" ]; then
  log "reusing cached rootfs $TARBALL"
else
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap missing: run scripts/install-docker.sh (or apt-get install debootstrap)"
  ROOTFS="$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")"
  trap 'rm -rf --one-file-system "$ROOTFS"' EXIT
  log "debootstrap $SUITE from $MIRROR with: $PACKAGES"
  DLOG="$CACHE_DIR/debootstrap-$KEY.log"
  keep_debootstrap_log() {
    # debootstrap's detailed log lives inside the rootfs, which the EXIT trap deletes: keep it.
    if [ -f "$ROOTFS/debootstrap/debootstrap.log" ]; then
      { echo '--- debootstrap/debootstrap.log ---'; cat "$ROOTFS/debootstrap/debootstrap.log"; } >>"$DLOG"
    fi
  }
  # Stage 1: a minimal base. debootstrap's own resolver cannot handle every dependency graph
  # (e.g. npm's virtual packages), so the requested packages are installed by apt in stage 2.
  if ! debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >"$DLOG" 2>&1; then
    keep_debootstrap_log
    grep -E '^(E:|W:|dpkg:|Errors)' "$DLOG" | tail -n 30 >&2 || true
    die "debootstrap failed (log: $DLOG)"
  fi
  # Stage 2: apt-get inside the rootfs (chroot; services are never started: policy-rc.d).
  log "apt-get install in the rootfs: $PACKAGES"
  printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"
  chmod +x "$ROOTFS/usr/sbin/policy-rc.d"
  mount -t proc proc "$ROOTFS/proc"
  trap 'umount "$ROOTFS/proc" 2>/dev/null || true; rm -rf --one-file-system "$ROOTFS"' EXIT
  # shellcheck disable=SC2046
  if ! chroot "$ROOTFS" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
      'apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" && apt-get clean' \
      sh $(printf '%s' "$PACKAGES" | tr ',' ' ') >>"$DLOG" 2>&1; then
    grep -E '^(E:|W:|dpkg:)' "$DLOG" | tail -n 30 >&2 || true
    die "apt-get install in the rootfs failed (log: $DLOG)"
  fi
  umount "$ROOTFS/proc"
  rm -f "$ROOTFS/usr/sbin/policy-rc.d"

  # Non-root user devteam, uid/gid 1000 (edited directly: no chroot, no dependency on `passwd`).
  grep -q '^devteam:' "$ROOTFS/etc/group" || echo 'devteam:x:1000:' >>"$ROOTFS/etc/group"
  grep -q '^devteam:' "$ROOTFS/etc/passwd" || echo 'devteam:x:1000:1000:DevTeam Runner:/home/devteam:/bin/bash' >>"$ROOTFS/etc/passwd"
  if [ -f "$ROOTFS/etc/shadow" ] && ! grep -q '^devteam:' "$ROOTFS/etc/shadow"; then
    echo 'devteam:!:19000:0:99999:7:::' >>"$ROOTFS/etc/shadow"
  fi
  if [ -f "$ROOTFS/etc/gshadow" ] && ! grep -q '^devteam:' "$ROOTFS/etc/gshadow"; then
    echo 'devteam:!::' >>"$ROOTFS/etc/gshadow"
  fi
  mkdir -p "$ROOTFS/home/devteam" "$ROOTFS/workspace"
  chown 1000:1000 "$ROOTFS/home/devteam" "$ROOTFS/workspace"
  chmod 0755 "$ROOTFS/home/devteam"
  # Let git work on a bind-mounted workspace owned by another uid.
  printf '[safe]\n\tdirectory = *\n' >"$ROOTFS/etc/gitconfig"

  # Slim it down: package caches and lists are not needed at run time.
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/log/*.log \
    "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/*

  tar --numeric-owner -C "$ROOTFS" -cf "$TARBALL.tmp" .
  mv "$TARBALL.tmp" "$TARBALL"
  rm -rf --one-file-system "$ROOTFS"
  trap - EXIT
  log "cached rootfs: $TARBALL ($(du -h "$TARBALL" | cut -f1))"
fi

log "docker import -> $NAME"
docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'ENV HOME=/home/devteam' \
  -c 'ENV LANG=C.UTF-8' \
  -c 'USER 1000:1000' \
  -c 'WORKDIR /workspace' \
  -c 'CMD ["sleep", "infinity"]' \
  -c "LABEL devteam.sandbox-image=1 devteam.packages=$PACKAGES" \
  - "$NAME" <"$TARBALL" >/dev/null
log "built $NAME"
