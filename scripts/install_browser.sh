#!/usr/bin/env bash
# The book's browser test drives Debian's Chromium (never a downloaded browser build).
# Installs it when missing and this machine can (root + apt-get); otherwise says how.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser test ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "note: chromium is not installed, so the book's browser test will be skipped locally."
echo "      install it with: sudo apt-get install chromium   (CI installs it and runs the test)"
