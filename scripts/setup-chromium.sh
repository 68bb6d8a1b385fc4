#!/usr/bin/env bash
# Debian's Chromium for the report's browser tests (driven by playwright through executable_path).
# Idempotent: returns at once when chromium is already installed. Installing needs root (CI runs as root).
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "setup-chromium: chromium is not installed and this is not root; run: sudo apt-get install -y chromium" >&2
    exit 1
fi
echo "setup-chromium: installing Debian's chromium (a minute or two)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq chromium >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi
command -v chromium >/dev/null
echo "setup-chromium: $(chromium --version 2>/dev/null)" >&2
