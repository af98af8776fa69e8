#!/bin/sh
# Entrypoint of the Docker image: run the tools as the host user who owns the results directory.
#
# `docker run -v $PWD/results:/app/results IMAGE python run.py ...` mounts a folder of the host. When it
# belongs to a (non-root) host user, the tools run as that uid:gid, so every file they write is the
# user's own, as if run on the host. When it belongs to root (Docker created the missing folder, or the
# host user is root), they run as root with umask 000 and the folder is opened to everyone, so that
# any host user can still read, move and delete what was written. With `--user UID:GID` the container
# does not start as root and this script only runs the command.
set -eu
results="${MLPERF_RESULTS_DIR:-/app/results}"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$results"
  owner="$(stat -c %u "$results")"
  group="$(stat -c %g "$results")"
  if [ "$owner" != 0 ]; then
    exec setpriv --reuid "$owner" --regid "$group" --clear-groups -- "$@"
  fi
  chmod 0777 "$results"
  umask 0000
fi
exec "$@"
