#!/bin/sh
# usage: [NW_TMP_OPTS=opts] with-ssh-dir.sh SSH_DIR COMMAND [ARGS...]
# Runs COMMAND with SSH_DIR bind-mounted over /etc/ssh and a private tmpfs on
# /run (holding /run/sshd, the privilege separation directory sshd needs).
# Only ever called inside `unshare --mount --propagation private` (itself inside
# `ip netns exec` of a namespace the test created), so the host's /etc/ssh,
# /run and network are never touched.
set -e
dir="$1"
shift
mount -t tmpfs -o mode=0755 nodeward-test-run /run
mkdir -m 0755 /run/sshd
mount --bind "$dir" /etc/ssh
# Optionally a private /tmp with the given mount options (after the bind, so
# SSH_DIR may itself live under /tmp).
if [ -n "${NW_TMP_OPTS:-}" ]; then
  mount -t tmpfs -o "$NW_TMP_OPTS" nodeward-test-tmp /tmp
fi
exec "$@"
