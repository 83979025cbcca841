#!/usr/bin/env bash
# Shared by the image build scripts.
# The machine's configured Debian mirror: first non-security deb URI in sources.list(.d).
detect_mirror() {
  local uri=""
  if [ -f /etc/apt/sources.list ]; then
    uri="$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' \
      /etc/apt/sources.list | grep -v -- '-security' | head -n 1 || true)"
  fi
  if [ -z "$uri" ]; then
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      uri="$(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f" \
        | grep -v -- '-security' | head -n 1 || true)"
      [ -n "$uri" ] && break
    done
  fi
  if [ -z "$uri" ]; then
    local f
    for f in /etc/apt/sources.list.d/*.list; do
      [ -f "$f" ] || continue
      uri="$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' "$f" \
        | grep -v -- '-security' | grep -i debian | head -n 1 || true)"
      [ -n "$uri" ] && break
    done
  fi
  printf '%s' "$uri"
}
