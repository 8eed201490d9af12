#!/bin/sh
# The official image's template step: each /etc/nginx/templates/X.template becomes
# /etc/nginx/conf.d/X with the environment substituted, limited to the variables whose names
# match NGINX_ENVSUBST_FILTER when it is set.
set -eu
for template in /etc/nginx/templates/*.template; do
  [ -e "$template" ] || continue
  names=$(env | cut -d= -f1 | grep -E "${NGINX_ENVSUBST_FILTER:-.*}" | sed 's/^/$/' | tr '\n' ' ')
  output="/etc/nginx/conf.d/$(basename "$template" .template)"
  envsubst "$names" < "$template" > "$output"
done
exec "$@"
