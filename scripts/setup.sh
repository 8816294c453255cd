#!/usr/bin/env bash
# Prepares a fresh Debian/Ubuntu machine (as root, or as a user with the packages already there or
# with passwordless sudo): system packages, pnpm, the workspace's dependencies, and a build.
#   scripts/setup.sh            what the tool and the demo need
#   scripts/setup.sh --tests    also the S3 test server's packages (OpenStack Swift)
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
[[ ${1:-} == --tests ]] && want_tests=1

say() { echo "setup: $*" >&2; }

# --- system packages: PostgreSQL 15 (server + client), compression tools, tar, and for tests Swift.
packages=(postgresql postgresql-15 postgresql-client-15 zstd lz4 gzip tar procps)
((want_tests)) && packages+=(swift swift-proxy swift-account swift-container swift-object memcached curl tmux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if ((EUID == 0)); then sudo=(); elif sudo -n true 2>/dev/null; then sudo=(sudo -n); else
    say "missing Debian packages: ${missing[*]}"
    say "install them once as root: apt-get install -y ${missing[*]}"
    exit 1
  fi
  say "installing ${missing[*]}"
  "${sudo[@]}" apt-get update -q >/dev/null
  # No service is started by the package scripts on these machines; we start our own clusters.
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- pnpm 10 (corepack cannot fetch offline): use one on PATH, else install it inside the repo.
pnpm_major() { "$1" --version 2>/dev/null | cut -d. -f1; }
if [[ $(pnpm_major pnpm) == 10 ]]; then
  PNPM=pnpm
else
  if [[ ! -x .tools/node_modules/.bin/pnpm ]]; then
    say "installing pnpm 10 into .tools/"
    npm install --silent --no-audit --no-fund --prefix .tools pnpm@10 >/dev/null
  fi
  PNPM=$PWD/.tools/node_modules/.bin/pnpm
fi

# zstd-napi compiles its addon with node-gyp, which would download Node's headers: use the ones
# installed with this node binary instead (no network needed), unless npm is already told where.
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [[ -z ${npm_config_nodedir:-} && -f $node_prefix/include/node/node_api.h ]]; then
  export npm_config_nodedir=$node_prefix
fi

say "installing dependencies"
"$PNPM" install --frozen-lockfile --reporter=silent
say "building"
"$PNPM" run build >/dev/null
echo "$PNPM"
