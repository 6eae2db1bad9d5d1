#!/usr/bin/env bash
# The real Ethereum JSON-RPC node that crates/nodeward/tests/gateway_pool_evm.rs
# drives: ganache from the npm registry, pinned, installed project-locally under
# target/evm-node/ (git-ignored with target/). Needs Node.js and npm
# (scripts/test.sh installs Debian's nodejs + npm when node is missing).
#
#   scripts/evm-node.sh install      install it unless the pinned version is there
#   scripts/evm-node.sh path         print the ganache executable's path
#   scripts/evm-node.sh run [PORT]   run one node on 127.0.0.1:PORT (default 8545)
set -euo pipefail
cd "$(dirname "$0")/.."

GANACHE_VERSION=7.9.2
PREFIX="$PWD/target/evm-node"
BIN="$PREFIX/node_modules/.bin/ganache"

installed_version() {
  node -p "require('$PREFIX/node_modules/ganache/package.json').version" 2>/dev/null || true
}

install() {
  if [ -x "$BIN" ] && [ "$(installed_version)" = "$GANACHE_VERSION" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "evm-node: npm not found: install Node.js and npm (Debian: apt-get install nodejs npm)" >&2
    return 1
  fi
  echo "installing ganache@$GANACHE_VERSION into target/evm-node"
  mkdir -p "$PREFIX"
  # --ignore-scripts: ganache ships its native parts prebuilt; the optional
  # bufferutil/utf-8-validate builds are not needed.
  npm install --no-audit --no-fund --ignore-scripts --save-exact --loglevel=error \
    --prefix "$PREFIX" "ganache@$GANACHE_VERSION"
  [ -x "$BIN" ] || { echo "evm-node: $BIN missing after npm install" >&2; return 1; }
}

case "${1:-install}" in
  install) install ;;
  path) echo "$BIN" ;;
  run)
    install
    exec "$BIN" --server.host 127.0.0.1 --server.port "${2:-8545}" \
      --chain.chainId 1337 --miner.blockTime 0 --wallet.deterministic --logging.quiet
    ;;
  *) echo "usage: $0 [install | path | run [PORT]]" >&2; exit 2 ;;
esac
