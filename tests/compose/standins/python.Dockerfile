# Stand-in for python:3.11-slim-bookworm: Debian's Python 3.11 with pip, reachable as
# /usr/local/bin/python like the official image, and pip allowed to install system-wide (the
# official image has no PEP 668 marker).
FROM voice-stack-standin/base:bookworm
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends python3 python3-pip python3-venv >/dev/null \
    && rm -rf /var/lib/apt/lists/* /usr/lib/python3*/EXTERNALLY-MANAGED \
    && ln -s /usr/bin/python3 /usr/local/bin/python \
    && ln -s /usr/bin/python3 /usr/local/bin/python3 \
    && ln -s /usr/bin/pip3 /usr/local/bin/pip
CMD ["python3"]
