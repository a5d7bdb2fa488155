#!/usr/bin/env bash
# Real-browser test of the pixel snippet: headless Chromium loads pages with
# hostile orders from a loopback HTTP server and reports what ran.
# Installs Debian's chromium if it is missing (CI runs as root).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
py="$repo/.venv/bin/python"

find_chromium() {
    command -v chromium || command -v chromium-browser || true
}

if [ -z "${CHROMIUM:-}" ] && [ -z "$(find_chromium)" ]; then
    echo "run.sh: chromium not found, installing it with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
CHROMIUM="${CHROMIUM:-$(find_chromium)}"
if [ -z "$CHROMIUM" ]; then
    echo "run.sh: chromium is still missing after apt-get install" >&2
    exit 1
fi
export CHROMIUM
# From run.sh a missing browser is a failure, never a skip.
unset CONVTRACK_BROWSER_TESTS_OPTIONAL

cd "$repo"
exec "$py" -m pytest -p no:cacheprovider "$here/test_pixel_browser.py" "$here/test_dashboard_browser.py" "$@"
