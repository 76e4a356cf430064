#!/usr/bin/env bash
# Builds the Docker image as a user would, without a Docker engine, and tests it for real:
#   1. buildah (and podman, where it runs here) from Debian's packages when missing;
#   2. the base image node:22-bookworm-slim: the real one when its registry answers, else a
#      stand-in assembled from Debian bookworm and the npm packages of Node 22 and npm 10, cached
#      in IMAGE_TEST_CACHE (scripts/image/base-image.sh);
#   3. `buildah --storage-driver vfs bud --isolation chroot -t airbyte/destination-s3-export:VERSION .`,
#      the Dockerfile unchanged. Where this machine trusts extra CA certificates
#      (NODE_EXTRA_CA_CERTS), npm in the RUN steps must trust them too: they are mounted read-only
#      over the base image's empty /usr/local/etc (npm's global npmrc names them), in RUN steps only;
#   4. radosgw on loopback (scripts/s3-test-server/start.sh, free ports);
#   5. the image's contents and the connector in it (scripts/image/*.test.ts): spec, check,
#      write of the sample read back, SIGTERM, read-only root; the image's size and layers.
# Whatever it started (radosgw, containers, working containers) is removed on exit, failure or not.
#
#   bash scripts/image-test.sh            # or: npm run test:image
#   IMAGE_TEST_CACHE=DIR                  # the stand-in's cache (default ~/.cache/destination-s3-export/image)
#   IMAGE_TEST_RUNNER=buildah             # skip podman: `buildah run` (no SIGTERM, no read-only root)
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true

VERSION=$(node -p 'require("./package.json").version')
IMAGE=localhost/airbyte/destination-s3-export:$VERSION
CACHE_DIR=${IMAGE_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/destination-s3-export/image}
RUN_ID=$$
B=(buildah --storage-driver vfs)
t_all=$SECONDS
timings=()

log() { echo "image-test: $*"; }
fail() { echo "image-test: FAILED: $*" >&2; exit 1; }
step_done() { timings+=("$1 $(($SECONDS - $2)) s"); }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/image-test-XXXXXX")
rgw_pid=""
containers_before=""
cleanup() {
  local code=$?
  set +e
  if [ -n "$rgw_pid" ]; then kill -TERM -- "-$rgw_pid" 2>/dev/null; wait "$rgw_pid" 2>/dev/null; fi
  [ -d "$tmp/rgw/run" ] && bash scripts/s3-test-server/stop.sh "$tmp/rgw/run" >/dev/null 2>&1
  if command -v podman >/dev/null 2>&1; then
    podman --storage-driver vfs ${PODMAN_GLOBAL:-} ps -a --format '{{.Names}}' 2>/dev/null | grep "^dse-image-test-$RUN_ID-" |
      xargs -r podman --storage-driver vfs ${PODMAN_GLOBAL:-} rm -f -t 0 >/dev/null 2>&1
  fi
  # working containers of this run: the tests' (named) and those a failed `buildah bud` leaves
  if command -v buildah >/dev/null 2>&1; then
    "${B[@]}" containers --format '{{.ContainerName}}' 2>/dev/null | grep "^dse-image-test-$RUN_ID-" | xargs -r "${B[@]}" rm >/dev/null 2>&1
    comm -13 <(printf '%s\n' "$containers_before" | sort) <("${B[@]}" containers -q 2>/dev/null | sort) | xargs -r "${B[@]}" rm >/dev/null 2>&1
  fi
  rm -rf "$tmp"
  [ "$code" -eq 0 ] || echo "image-test: FAILED after $((SECONDS - t_all)) s" >&2
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ "$(uname -m)" = x86_64 ] || fail "the stand-in base and this test run on x86_64 Linux only"
[ "$(id -u)" -eq 0 ] || fail "run as root: buildah's vfs storage and debootstrap need it here"

# 1. Tools. podman and runc are optional: without them, `buildah run` runs the connector.
t=$SECONDS
missing=()
for pkg in buildah:buildah debootstrap:debootstrap curl:curl; do command -v "${pkg%%:*}" >/dev/null 2>&1 || missing+=("${pkg#*:}"); done
for bin in radosgw ceph-mon ceph-osd; do command -v "$bin" >/dev/null 2>&1 || missing+=(radosgw ceph-mon ceph-osd); done
optional=()
if [ "${IMAGE_TEST_RUNNER:-}" != buildah ]; then
  command -v podman >/dev/null 2>&1 || optional+=(podman)
  command -v runc >/dev/null 2>&1 || optional+=(runc)
fi
if [ ${#missing[@]} -gt 0 ] || [ ${#optional[@]} -gt 0 ]; then
  log "installing from Debian: ${missing[*]} ${optional[*]}"
  apt_get=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends)
  "${apt_get[@]}" update >/dev/null
  [ ${#missing[@]} -eq 0 ] || "${apt_get[@]}" install $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
  [ ${#optional[@]} -eq 0 ] || "${apt_get[@]}" install "${optional[@]}" >/dev/null || log "podman could not be installed: buildah runs the connector"
fi
[ -d node_modules/vitest ] && [ -d node_modules/hyparquet ] || npm ci --no-audit --no-fund
log "buildah $(buildah --version | awk '{print $3}'); podman $(podman --version 2>/dev/null | awk '{print $3}' || echo none)"
step_done tools "$t"

# 2. The base image.
t=$SECONDS
BASE_KIND=$(bash scripts/image/base-image.sh "$CACHE_DIR" | tail -1)
log "base image: $BASE_KIND node:22-bookworm-slim"
step_done base "$t"

# 3. The build. The extra CA certificates: Node's own roots plus this machine's extras, in one
#    file that npm's global npmrc (/usr/local/etc/npmrc) names; the directory is mounted read-only
#    over the base's /usr/local/etc, which must be empty so that nothing is hidden and nothing stays.
t=$SECONDS
ca_mount=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r "$NODE_EXTRA_CA_CERTS" ]; then
  probe=$("${B[@]}" from --pull=false --name "dse-image-test-$RUN_ID-base" docker.io/library/node:22-bookworm-slim)
  etc=$(ls -A "$("${B[@]}" mount "$probe")/usr/local/etc" 2>/dev/null || echo missing)
  "${B[@]}" rm "$probe" >/dev/null
  [ -z "$etc" ] || fail "the base image's /usr/local/etc is not empty ($etc): the CA mount would hide it"
  mkdir -p "$tmp/ca"
  node -e 'process.stdout.write(require("node:tls").rootCertificates.join("\n") + "\n")' >"$tmp/ca/extra-ca.pem"
  cat "$NODE_EXTRA_CA_CERTS" >>"$tmp/ca/extra-ca.pem"
  echo "cafile=/usr/local/etc/extra-ca.pem" >"$tmp/ca/npmrc"
  chmod 0755 "$tmp/ca" && chmod 0644 "$tmp/ca"/*
  ca_mount=(--volume "$tmp/ca:/usr/local/etc:ro")
  log "NODE_EXTRA_CA_CERTS: mounted read-only into the RUN steps"
fi
containers_before=$("${B[@]}" containers -q 2>/dev/null || true)
previous=$("${B[@]}" images -q --no-trunc "$IMAGE" 2>/dev/null || true)
log "building $IMAGE: buildah --storage-driver vfs bud --isolation chroot ${ca_mount[*]:+${ca_mount[0]} <CA dir>:/usr/local/etc:ro} -t $IMAGE ."
if ! "${B[@]}" bud --isolation chroot "${ca_mount[@]}" -t "$IMAGE" . >"$tmp/build.log" 2>&1; then
  grep -v -E '^(Copying (blob|config)|Getting image source|Writing manifest|Storing signatures)' "$tmp/build.log" | tail -40 >&2
  fail "buildah bud of the Dockerfile"
fi
log "built $IMAGE in $((SECONDS - t)) s"
# the image this build replaced, untagged now: vfs keeps a full copy of every image
[ -z "$previous" ] || [ "$previous" = "$("${B[@]}" images -q --no-trunc "$IMAGE")" ] || "${B[@]}" rmi "$previous" >/dev/null 2>&1 || true
step_done build "$t"

# 4. radosgw on free loopback ports, in a process group of its own (the trap stops it).
t=$SECONDS
read -r RGW_PORT RGW_STS_PORT MON_PORT MON_PORT_V1 < <(node -e '
  const net = require("node:net");
  Promise.all([0, 1, 2, 3].map(() => new Promise((r) => { const s = net.createServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); })))
    .then((ports) => console.log(ports.join(" ")));')
export RGW_PORT RGW_STS_PORT MON_PORT MON_PORT_V1
setsid bash scripts/s3-test-server/start.sh "$tmp/rgw/run" >"$tmp/rgw.log" 2>&1 &
rgw_pid=$!
wait "$rgw_pid" || { tail -20 "$tmp/rgw.log" >&2; fail "radosgw did not start"; }
rgw_pid=""
export S3_TEST_ENDPOINT="http://127.0.0.1:$RGW_PORT" S3_TEST_STS_ENDPOINT="http://127.0.0.1:$RGW_STS_PORT" S3_TEST_CEPH_CONF="$tmp/rgw/run/ceph.conf"
log "radosgw on $S3_TEST_ENDPOINT ($((SECONDS - t)) s)"
step_done radosgw "$t"

# 5. The runner: podman where a container starts here, else buildah run. This machine's root
#    may lack CAP_SYS_RESOURCE (podman's default limits of 1048576 open files and 4194304
#    processes cannot be set then: keep the current ones), and crun refuses hybrid cgroups (v1 with
#    a v2 mount: runc copes).
t=$SECONDS
RUNNER=${IMAGE_TEST_RUNNER:-podman}
PODMAN_GLOBAL="" PODMAN_RUN=""
if [ "$RUNNER" = podman ]; then
  if ! command -v podman >/dev/null 2>&1; then
    RUNNER=buildah
  else
    if [ ! -f /sys/fs/cgroup/cgroup.controllers ] && command -v runc >/dev/null 2>&1; then PODMAN_GLOBAL="--runtime runc"; fi
    cap_eff=$((16#$(awk '/^CapEff:/ { print $2 }' /proc/self/status)))
    if (( (cap_eff >> 24 & 1) == 0 )); then
      nproc=$(ulimit -Hu); pid_max=$(cat /proc/sys/kernel/pid_max)
      [ "$nproc" != unlimited ] && [ "$nproc" -lt "$pid_max" ] || nproc=$pid_max
      PODMAN_RUN="--ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=$nproc:$nproc"
    fi
    # shellcheck disable=SC2086
    if uid=$(timeout 180 podman --storage-driver vfs $PODMAN_GLOBAL run --rm --name "dse-image-test-$RUN_ID-probe" $PODMAN_RUN \
          --entrypoint /usr/bin/id "$IMAGE" -u 2>"$tmp/podman.err"); then
      [ "$uid" = 1000 ] || fail "the image runs as uid $uid, not 1000"
    else
      log "podman cannot start a container here ($(tail -1 "$tmp/podman.err")): buildah run runs the connector"
      RUNNER=buildah
    fi
  fi
fi
log "runner: $RUNNER ${PODMAN_GLOBAL:+($PODMAN_GLOBAL $PODMAN_RUN)}"
[ "$RUNNER" = podman ] || log "no PID namespace and no read-only root with buildah run: the SIGTERM and read-only tests are skipped"
step_done runner "$t"

# 6. The tests of the image and of the connector in it.
t=$SECONDS
[ -f ../shared/airbyte-protocol/airbyte_protocol.yaml ] || [ -n "${AIRBYTE_PROTOCOL_SCHEMA:-}" ] ||
  log "../shared/airbyte-protocol/airbyte_protocol.yaml is absent: the spec check against the protocol schema is skipped"
IMAGE_TEST_IMAGE=$IMAGE IMAGE_TEST_RUNNER=$RUNNER IMAGE_TEST_RUN_ID=$RUN_ID IMAGE_TEST_BASE=$BASE_KIND \
  IMAGE_TEST_PODMAN_GLOBAL=$PODMAN_GLOBAL IMAGE_TEST_PODMAN_RUN=$PODMAN_RUN IMAGE_TEST_REPORT_DIR=${IMAGE_TEST_REPORT_DIR:-} \
  npx vitest run --config scripts/image/vitest.config.ts
step_done tests "$t"

(IFS=","; log "done in $((SECONDS - t_all)) s (${timings[*]}) on a $BASE_KIND base image")
