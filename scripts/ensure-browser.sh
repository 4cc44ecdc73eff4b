#!/bin/sh
# The browser tests drive Debian's Chromium through playwright-core, with CJK fonts for Chinese text.
# Installs both from Debian's packages when missing (needs root, as on CI machines).
set -eu
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ] && ls /usr/share/fonts/opentype/noto/NotoSansCJK-* >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "Chromium or fonts-noto-cjk is missing; install them: sudo apt-get install -y chromium fonts-noto-cjk" >&2
  exit 1
fi
echo "installing chromium and fonts-noto-cjk from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
"$CHROMIUM" --version
