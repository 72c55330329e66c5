# EchoApi as a native AOT binary on a chiseled base: no shell, no package manager, no curl, no .NET runtime.
#
#   docker build -t echoapi .
#   mkdir -p "$XDG_RUNTIME_DIR/echoapi" && chmod 700 "$XDG_RUNTIME_DIR/echoapi"
#   docker run -d --name echoapi --user "$(id -u):$(id -g)" \
#     -v "$XDG_RUNTIME_DIR/echoapi:/run/echoapi" echoapi
#   curl --unix-socket "$XDG_RUNTIME_DIR/echoapi/echo.sock" -d hello http://localhost/echo
#
# The socket lives in the volume /run/echoapi. The service refuses a socket directory owned by
# another uid, so run the container as the uid that owns the host directory (--user); that uid is
# then the socket's owner (EchoApi__Owner overrides it). Peer credentials cross the container
# boundary as long as both sides share the host's user namespace (no userns remapping).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# Native AOT links with clang against zlib.
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/ src/
RUN dotnet publish src/EchoApi -c Release -o /app
# The socket directory, made here because the final stage has no shell to run mkdir.
RUN mkdir -p /rootfs/run/echoapi

# Chiseled: only what the native binary needs (libc, libssl, ca-certificates); runs as uid 1654 ("app").
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled AS final
WORKDIR /app
COPY --from=build /app/EchoApi /app/appsettings.json ./
# A directory the default non-root user owns, for a named volume; a bind mount replaces it.
COPY --from=build --chown=1654:1654 --chmod=700 /rootfs/run/ /run/
USER 1654
ENV EchoApi__SocketPath=/run/echoapi/echo.sock
# The base image asks for an HTTP port (8080); EchoApi listens on its Unix socket only, so the port
# is cleared rather than overridden with a warning at every start.
ENV ASPNETCORE_HTTP_PORTS=
VOLUME /run/echoapi
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s CMD ["/app/EchoApi", "--health"]
ENTRYPOINT ["/app/EchoApi"]
