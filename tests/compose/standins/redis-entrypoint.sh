#!/bin/sh
# The official image's entrypoint, reduced to what the stand-in needs: redis-server with
# protected mode off, any other command as given.
if [ "$1" = redis-server ]; then
  shift
  exec redis-server --protected-mode no "$@"
fi
exec "$@"
