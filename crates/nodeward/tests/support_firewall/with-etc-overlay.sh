#!/bin/sh
# usage: with-etc-overlay.sh UPPER WORK COMMAND [ARGS...]
# Runs COMMAND with UPPER overlaid on /etc (files in UPPER appear under /etc,
# everything else is the host's /etc, read-only through the overlay; writes go
# to UPPER). Only ever called inside `unshare --mount --propagation private`
# (itself inside `ip netns exec` of a namespace the test created), so the host's
# /etc is never changed.
set -e
upper="$1"
work="$2"
shift 2
mount -t overlay nodeward-test-etc -o "lowerdir=/etc,upperdir=$upper,workdir=$work" /etc
exec "$@"
