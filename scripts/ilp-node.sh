#!/usr/bin/env bash
# The real Interledger connector that crates/nodeward/tests/check_node_ilp.rs
# and audit_cases_ilp.rs drive: ilp-connector (with ilp-plugin-btp for its
# accounts), moneyd-gui and the PM2 process manager from the npm registry, pinned, installed project-locally under target/ilp-node/
# (git-ignored with target/). Needs Node.js and npm (scripts/test.sh installs
# Debian's nodejs + npm when node is missing).
#
#   scripts/ilp-node.sh install   install it unless the pinned versions are there
#   scripts/ilp-node.sh path      print the connector's entry script (run it with node)
#   scripts/ilp-node.sh pm2       print the pm2 executable's path
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTOR_VERSION=23.0.2
BTP_VERSION=1.5.0
PM2_VERSION=6.0.14
GUI_VERSION=0.1.2
PREFIX="$PWD/target/ilp-node"
ENTRY="$PREFIX/node_modules/ilp-connector/dist/index.js"
PM2="$PREFIX/node_modules/.bin/pm2"

installed_version() {
  node -p "require('$PREFIX/node_modules/$1/package.json').version" 2>/dev/null || true
}

install() {
  if [ -f "$ENTRY" ] && [ "$(installed_version ilp-connector)" = "$CONNECTOR_VERSION" ] \
    && [ "$(installed_version ilp-plugin-btp)" = "$BTP_VERSION" ] \
    && [ "$(installed_version pm2)" = "$PM2_VERSION" ] \
    && [ "$(installed_version moneyd-gui)" = "$GUI_VERSION" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "ilp-node: npm not found: install Node.js and npm (Debian: apt-get install nodejs npm)" >&2
    return 1
  fi
  echo "installing ilp-connector@$CONNECTOR_VERSION, ilp-plugin-btp@$BTP_VERSION, moneyd-gui@$GUI_VERSION and pm2@$PM2_VERSION into target/ilp-node"
  mkdir -p "$PREFIX"
  # --ignore-scripts: all are plain JavaScript; the optional native
  # bufferutil/utf-8-validate builds of the WebSocket library are not needed.
  npm install --no-audit --no-fund --ignore-scripts --save-exact --loglevel=error \
    --prefix "$PREFIX" "ilp-connector@$CONNECTOR_VERSION" "ilp-plugin-btp@$BTP_VERSION" \
    "pm2@$PM2_VERSION" "moneyd-gui@$GUI_VERSION"
  [ -f "$ENTRY" ] && [ -x "$PM2" ] || { echo "ilp-node: $ENTRY or $PM2 missing after npm install" >&2; return 1; }
}

case "${1:-install}" in
  install) install ;;
  path) echo "$ENTRY" ;;
  pm2) echo "$PM2" ;;
  *) echo "usage: $0 [install | path | pm2]" >&2; exit 2 ;;
esac
