#!/bin/sh
# Runs "$@" with a private, empty /run (tmpfs) holding /run/sshd, the privilege
# separation directory sshd -T insists on. Called only inside
# `unshare --mount --propagation private`, so the host's /run is never touched.
set -e
mount -t tmpfs -o mode=0755 nodeward-test-run /run
mkdir -m 0755 /run/sshd
exec "$@"
