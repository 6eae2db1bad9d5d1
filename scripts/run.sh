#!/usr/bin/env bash
# Builds nodeward and runs its main job on this host with the shipped example config.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p nodeward
exec ./target/release/nodeward gateway --config examples/iri.toml
