# syntax=docker/dockerfile:1
# One image for every program:
#   iam-sidecar injector|broker|explain ...   TypeScript sources run by Node 24's type stripping
#   node /app/dist/sidecar.mjs ...            the per-pod sidecar, from its bundle (what the
#                                             injector writes into pods: injector/sidecar-spec.ts)
#
# Runtime base: gcr.io/distroless/nodejs24-debian12:nonroot (Node 24, user 65532, no shell, no
# package manager). Two things distroless lacks are supplied here:
#  - PATH: distroless keeps node at /nodejs/bin/node and its PATH (/usr/local/sbin:/usr/local/bin:
#    /usr/sbin:/usr/bin:/sbin:/bin) does not include /nodejs/bin. The injector starts the sidecar
#    with the bare command `node`, which the container runtime looks up in the image's PATH, so
#    /nodejs/bin is put first below.
#  - a launcher: the chart runs `iam-sidecar <injector|broker> ...`. With no shell for a script,
#    /usr/local/bin/iam-sidecar is a two-line Node script with a `#!/nodejs/bin/node` shebang.
#
# Read-only root filesystem: nothing here writes outside the volumes the pods mount (the sidecar
# writes its per-pod secret into a memory emptyDir); NODE_OPTIONS is left unset.
#
#   docker build -t iam-sidecar:0.1.0 .
#   docker run --rm iam-sidecar:0.1.0 explain --pod=... (the entrypoint is the CLI)

ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# Dependencies first, for the layer cache. npm ci runs the install scripts of the pinned `node`
# package and of esbuild (the only two with any), as in development.
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund
COPY bin/ bin/
COPY lib/ lib/
COPY broker/ broker/
COPY injector/ injector/
COPY sidecar/ sidecar/
COPY scripts/build-sidecar.ts scripts/
# dist/sidecar.mjs, then production dependencies only.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund
# The runtime tree: package.json (for "type": "module"), production node_modules, the sources
# without their tests and test data, the sidecar bundle, and the launcher.
RUN mkdir -p /out/app/dist /out/usr/local/bin \
 && cp -R package.json node_modules bin lib broker injector sidecar /out/app/ \
 && cp dist/sidecar.mjs /out/app/dist/ \
 && find /out/app/bin /out/app/lib /out/app/broker /out/app/injector /out/app/sidecar \
      \( -name '*.test.ts' -o -name testdata \) -prune -exec rm -rf {} + \
 && printf '%s\n' \
      '#!/nodejs/bin/node' \
      '// iam-sidecar <command> [flags]: the CLI, for images with no shell.' \
      "import('/app/bin/iam-sidecar.ts')" \
      > /out/usr/local/bin/iam-sidecar \
 && chmod 0555 /out/usr/local/bin/iam-sidecar \
 && chmod -R a+rX,go-w /out/app

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="iam-sidecar" \
      org.opencontainers.image.description="Per-pod AWS IAM roles for Kubernetes: injector, broker and credential sidecar" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/nodejs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Files stay owned by root and read-only for the user that runs them.
COPY --from=build /out/usr/local/bin/iam-sidecar /usr/local/bin/iam-sidecar
COPY --from=build /out/app /app
WORKDIR /app
USER 65532:65532
# `docker run IMAGE broker ...`; Kubernetes manifests set their own command (the chart:
# [iam-sidecar], the injector: [node, ..., /app/dist/sidecar.mjs]).
ENTRYPOINT ["/nodejs/bin/node", "/app/bin/iam-sidecar.ts"]
CMD ["--help"]
