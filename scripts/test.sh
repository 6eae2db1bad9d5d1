#!/usr/bin/env bash
# Runs nodeward's whole test suite. As root on Debian it first installs the packages
# the end-to-end tests drive (real curl, openssl, nft, sshd, ip netns).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the end-to-end tests drive.
PACKAGES=(
  ca-certificates curl openssl iproute2 procps
  nftables openssh-server openssh-client socat
  nmap testssl.sh
  libcap2-bin systemd
  python3
  pebble
  chromium
  # tests/package.rs: the .deb is built (binutils' strip), checked by lintian, its man
  # pages read with man, its units verified with systemd-analyze, installed with dpkg.
  lintian man-db binutils
  # cluster mode (tests/gateway_cluster.rs): a real etcd and etcdctl; etcd-client's
  # build script compiles etcd's .proto files with protoc.
  etcd-server etcd-client protobuf-compiler
  # cluster-wide rate limits (tests/gateway_cluster_limits.rs): a real Redis.
  redis-server
  # the read cache's key flood (tests/gateway_cache.rs) is driven by wrk.
  wrk
  # tests/gateway_cluster_push.rs: one gateway's wall clock skewed by minutes (libfaketime).
  faketime
)
# python3 (sqlite3) writes the rpm database of tests/fim_packages.rs.
# Node.js runs ganache, the real JSON-RPC node of tests/gateway_pool_evm.rs,
# and ilp-connector, the real Interledger connector of tests/check_node_ilp.rs.
# Only when node is missing: a NodeSource nodejs, where present, conflicts with Debian's npm.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi
# ganache, pinned, into target/evm-node (the test fails with a pointer here if missing).
bash scripts/evm-node.sh install || echo "warning: ganache not installed; gateway_pool_evm will fail" >&2
# ilp-connector, pinned, into target/ilp-node (check_node_ilp and the live ILP audit test drive it).
bash scripts/ilp-node.sh install || echo "warning: ilp-connector not installed; check_node_ilp will fail" >&2

cargo build --release --locked -p nodeward -p nodeward-testnode
export NODEWARD_BIN="$PWD/target/release/nodeward"
cargo test --workspace --locked --release --no-fail-fast "$@"
