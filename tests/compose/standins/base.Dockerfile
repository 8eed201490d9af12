# The common layer of every stand-in: the imported Debian bookworm root file system plus this
# machine's CA bundle, so that package clients inside (pip, uv, npm) can reach the registries
# through this machine's TLS-inspecting proxy. Official images need none of this.
FROM voice-stack-standin/debian-rootfs:bookworm
# Its own path: Debian's ca-certificates package, when a stand-in installs it, rewrites the usual one.
COPY ca-certificates.crt /etc/ssl/host-ca-certificates.crt
ENV SSL_CERT_FILE=/etc/ssl/host-ca-certificates.crt \
    PIP_CERT=/etc/ssl/host-ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/host-ca-certificates.crt \
    NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca-certificates.crt \
    npm_config_cafile=/etc/ssl/host-ca-certificates.crt \
    DEBIAN_FRONTEND=noninteractive
