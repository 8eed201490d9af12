# Stand-in for livekit/livekit-server:<version>: the same release built from its Go module by
# scripts/setup.sh, as the entrypoint, with wget for health checks (the official image has it).
FROM voice-stack-standin/base:bookworm
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends wget >/dev/null \
    && rm -rf /var/lib/apt/lists/*
COPY livekit-server /livekit-server
EXPOSE 7880 7881 7882/udp
ENTRYPOINT ["/livekit-server"]
