# Stand-in for redis:7.0.15-bookworm: Debian's redis-server (7.0.15 in bookworm) run like the
# official image: as user redis in /data, protected mode off (the official build turns it off;
# Debian's default would answer other containers with DENIED).
FROM voice-stack-standin/base:bookworm
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data && chown redis:redis /data
COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /data
WORKDIR /data
USER redis
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
