#!/usr/bin/env bash
# Builds nodeward and runs its main job on this host: audit the host, then start
# the gateway on the shipped example config (examples/iri.toml: listens on
# 127.0.0.1:14265, admin on 127.0.0.1:9901, forwards to an IRI node on 127.0.0.1:14266).
set -euo pipefail
cd "$(dirname "$0")/.."
# Building needs protoc (etcd-client compiles etcd's .proto files for cluster mode).
if ! command -v protoc >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends protobuf-compiler
  else
    echo "nodeward's build needs protoc: install Debian's protobuf-compiler (as root: apt-get install protobuf-compiler)" >&2
    exit 2
  fi
fi
cargo build --release --locked -p nodeward
bin=./target/release/nodeward

# The audit exits 1 when something failed; that is a finding, not an error here.
"$bin" audit || [ $? -eq 1 ]

# As root the admin token goes to /var/lib/nodeward; otherwise next to the build.
state_dir=/var/lib/nodeward
[ "$(id -u)" = 0 ] || state_dir="$PWD/target/nodeward-state"
echo
echo "Starting the gateway on examples/iri.toml (Ctrl-C stops it; admin token in $state_dir/admin.token)."
exec "$bin" gateway --config examples/iri.toml --state-dir "$state_dir"
