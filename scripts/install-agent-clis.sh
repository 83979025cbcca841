#!/usr/bin/env bash
# Installs the pinned coding-agent CLIs (Claude Code, Codex, Gemini CLI, opencode) from the
# npm registry into a cache dir, for the real-binary agent tests and for local sandboxes:
#   bash scripts/install-agent-clis.sh            # -> <repo>/.cache/agent-clis
#   DEVTEAM_AGENT_CLI_DIR=/opt/agent-clis bash scripts/install-agent-clis.sh
# The binaries end up in "$DIR/node_modules/.bin" (claude, codex, gemini, opencode).
#
# Idempotent: a stamp file records the pinned set; when it matches and every binary answers
# `--version`, nothing is downloaded. Fails fast, naming the package that broke.
#
# Install scripts: npm 11 reviews dependency install scripts against "allowScripts" in the
# installing package.json (`npm help install-scripts`; --allow-scripts is refused for
# project-scoped installs). The private package.json written below approves exactly the
# postinstalls the CLIs need and denies the rest:
#   - @anthropic-ai/claude-code (install.cjs): copies the native binary of the platform
#     optional dependency @anthropic-ai/claude-code-linux-x64 over the bin/claude.exe stub.
#   - opencode-ai (postinstall.mjs): links the platform binary (opencode-linux-x64[-baseline]).
#   - node-pty, @github/keytar (optional deps of Gemini CLI): denied — they would need a
#     node-gyp build; Gemini CLI uses @lydell/node-pty prebuilds / child_process and a file
#     credential store without them, and headless runs need neither.
# Each binary is then VERIFIED with `--version` (a skipped postinstall shows up there:
# the claude stub prints install instructions and exits non-zero).
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${DEVTEAM_AGENT_CLI_DIR:-$REPO_DIR/.cache/agent-clis}"

# Pinned versions: bump together with test/fixtures/agents/README.md (the recorded samples).
PACKAGES=(
  "@anthropic-ai/claude-code@2.1.332"
  "@openai/codex@0.171.0"
  "@google/gemini-cli@0.61.0"
  "opencode-ai@1.18.33"
)
BINARIES=(claude codex gemini opencode)

log() { printf '[install-agent-clis] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v npm >/dev/null 2>&1 || die "npm is not on PATH (Node 20+ with npm is required)"
command -v node >/dev/null 2>&1 || die "node is not on PATH"

STAMP="$DIR/.installed"
WANT="$(printf '%s\n' "${PACKAGES[@]}")"

check_binaries() {
  local bin out
  for bin in "${BINARIES[@]}"; do
    [ -x "$DIR/node_modules/.bin/$bin" ] || { log "missing binary: $DIR/node_modules/.bin/$bin"; return 1; }
    # --version needs no network, config or credentials for any of the four.
    if ! out="$(HOME="$DIR/.home" "$DIR/node_modules/.bin/$bin" --version 2>&1 </dev/null)"; then
      log "'$bin --version' failed: $(printf '%s' "$out" | tail -n 3)"
      return 1
    fi
    log "ok: $bin $(printf '%s' "$out" | tail -n 1)"
  done
}

mkdir -p "$DIR/.home"
# Keep the cache out of git without touching the repository's .gitignore.
[ -f "$DIR/.gitignore" ] || printf '*\n' > "$DIR/.gitignore"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && check_binaries; then
  log "already installed in $DIR (pinned set unchanged)"
  exit 0
fi

# A private package.json so `npm install --prefix` never walks up into the repository's.
# Rewritten on every install (dependencies too: the pinned set is the whole manifest).
cat > "$DIR/package.json" <<'JSON'
{
  "name": "devteam-agent-clis",
  "private": true,
  "description": "written by scripts/install-agent-clis.sh",
  "allowScripts": {
    "@anthropic-ai/claude-code": true,
    "opencode-ai": true,
    "node-pty": false,
    "@github/keytar": false
  }
}
JSON

start=$(date +%s)
log "installing into $DIR: ${PACKAGES[*]}"
if ! npm install --prefix "$DIR" --no-audit --no-fund --save-exact \
  "${PACKAGES[@]}" >&2; then
  die "npm install failed (see npm's message above); the registry must be reachable"
fi
log "npm install took $(( $(date +%s) - start ))s"

check_binaries || die "a CLI was installed but does not run (see above); a skipped postinstall is the usual cause"
printf '%s\n' "$WANT" > "$STAMP"
log "done: $(du -sh "$DIR" | cut -f1) in $DIR; binaries in $DIR/node_modules/.bin"
