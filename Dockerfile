# One image for all three modes: `vsphere-csi controller|node|cpi|preflight|version`
# (or X_CSI_MODE). Build stage compiles TypeScript; runtime stage carries only
# production dependencies, the compiled program, the CSI proto and the node tools.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/npm-ci.sh ./scripts/
# npm ci; if npm ever refuses the lock, one line and the same lock through npm install --no-save.
RUN bash scripts/npm-ci.sh
COPY tsconfig.json tsconfig.build.json ./
COPY proto ./proto
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="vsphere-csi" \
      org.opencontainers.image.description="vSphere CSI driver and CPI node initializer (csi.vsphere.vmware.com)" \
      org.opencontainers.image.source="https://github.com/vsphere-csi/vsphere-csi" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# Node plugin tools: mkfs/resize (e2fsprogs, xfsprogs), blkid/losetup/blockdev (util-linux), mount/umount.
RUN apt-get update \
 && apt-get install -y --no-install-recommends e2fsprogs xfsprogs util-linux mount udev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/proto ./proto
RUN ln -s /app/dist/main.js /usr/local/bin/vsphere-csi && chmod 0755 /app/dist/main.js
ENV NODE_ENV=production
# A heap sized for a sidecar, not for the node's whole memory (Node's default): 2 MiB
# semi-spaces and a 1 GiB old-generation cap, whose smaller growth factor keeps the
# heap near what is live. Measured in docs/benchmarks.md ("Controller footprint");
# src/demo/processes.ts IMAGE_NODE_OPTIONS is the same string for the benchmarks.
ENV NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=1024"
# Non-root by default; the node DaemonSet runs privileged as root.
USER 1000:1000
ENTRYPOINT ["vsphere-csi"]
