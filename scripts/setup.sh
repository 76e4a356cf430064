#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian/Ubuntu machine: Ceph's radosgw (the real S3 the
# integration tests run against), openssl (the web identity tests' OIDC issuer makes its
# certificate with it) and the npm dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for bin in radosgw ceph-mon ceph-osd curl openssl; do command -v "$bin" >/dev/null 2>&1 || missing+=("$bin"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing radosgw, ceph-mon, ceph-osd, curl, openssl (missing: ${missing[*]})"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd curl openssl >/dev/null
fi
npm ci --no-audit --no-fund
