# EchoApi as a native AOT binary on a minimal base: no shell, no curl, no .NET runtime.
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

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0 AS final
WORKDIR /app
COPY --from=build /app/EchoApi /app/appsettings.json ./
# A directory the default non-root user owns, for a named volume; a bind mount replaces it.
USER root
RUN mkdir -p /run/echoapi && chown 1654:1654 /run/echoapi && chmod 700 /run/echoapi
USER 1654
ENV EchoApi__SocketPath=/run/echoapi/echo.sock
VOLUME /run/echoapi
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s CMD ["/app/EchoApi", "--health"]
ENTRYPOINT ["/app/EchoApi"]
