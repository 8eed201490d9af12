# Stand-in for nginxinc/nginx-unprivileged:<version>-alpine: Debian's nginx run as uid 101 on
# port 8080, with its pid file and temporary files in /tmp, rendering /etc/nginx/templates/*.template
# into /etc/nginx/conf.d/ with envsubst at start (NGINX_ENVSUBST_FILTER honoured), and wget for
# health checks, as the official image does.
FROM voice-stack-standin/base:bookworm
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends nginx-light gettext-base wget >/dev/null \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled /etc/nginx/conf.d/* \
    && groupadd --system --gid 101 nginx-unpriv \
    && useradd --system --uid 101 --gid 101 --no-create-home --home-dir /nonexistent nginx-unpriv \
    && mkdir -p /etc/nginx/templates /usr/share/nginx/html \
    && chown -R 101:101 /etc/nginx/conf.d /usr/share/nginx/html /var/lib/nginx /var/log/nginx \
    && ln -sf /dev/stdout /var/log/nginx/access.log \
    && ln -sf /dev/stderr /var/log/nginx/error.log
COPY nginx.conf /etc/nginx/nginx.conf
COPY nginx-entrypoint.sh /docker-entrypoint.sh
USER 101
EXPOSE 8080
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/docker-entrypoint.sh"]
CMD ["nginx", "-g", "daemon off;"]
