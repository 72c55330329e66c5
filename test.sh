#!/usr/bin/env bash
# The tests, from a fresh machine: installs the real clients they drive (as root, with apt-get and
# npm), runs `dotnet test`, then publishes the native AOT build and runs the process-level suite
# against it. `SKIP_AOT=1 ./test.sh` leaves the AOT part out. CI (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")"

# Real clients and tools the tests drive: curl, setpriv (util-linux), nc -U, socat, and Debian's
# Chromium for the Swagger UI browser test.
need=()
command -v curl >/dev/null || need+=(curl)
command -v setpriv >/dev/null || need+=(util-linux)
command -v nc >/dev/null || need+=(netcat-openbsd)
command -v socat >/dev/null || need+=(socat)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "test.sh: missing ${need[*]} and not root to install them; tests that need them will fail" >&2
  fi
fi

# The WebSocket client curl-examples.sh uses when websocat is absent (websocat is not packaged here).
if ! command -v wscat >/dev/null && command -v npm >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    npm install -g --no-fund --no-audit wscat@6.1.0 >/dev/null
  else
    echo "test.sh: wscat is missing (npm install -g wscat@6.1.0 as root); the curl-examples test will fail" >&2
  fi
fi
# playwright-core drives Debian's Chromium; it downloads no browser of its own.
npm ci --prefix tests/browser --no-fund --no-audit >/dev/null

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: not root: tests that connect as another uid will be reported as skipped"
fi

log=$(mktemp)
set +e
dotnet build 2>&1 | tail -n 3
dotnet test tests/EchoApi.Tests --no-build 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# The library's own tests, in process with fake credentials: run as an ordinary user, as a consumer of
# the library would (uid 65534 when we are root), from a copy of the build output that user can read.
library=$(mktemp -d)
cp -r tests/PeerCredentials.Tests/bin/Debug/net10.0/. "$library/"
chmod -R a+rX "$library"
chmod 755 "$library"
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
as_user=()
[ "$(id -u)" -eq 0 ] && as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
echo "test.sh: the library's tests (tests/PeerCredentials.Tests) as uid $([ "$(id -u)" -eq 0 ] && echo 65534 || id -u)"
"${as_user[@]}" env HOME="$library" DOTNET_ROOT="$dotnet_root" DOTNET_CLI_TELEMETRY_OPTOUT=1 \
  "$dotnet_root/dotnet" exec "$library/PeerCredentials.Tests.dll" -noColor 2>&1 | tee "$log.library"
library_status=${PIPESTATUS[0]}
rm -rf "$library"
set -e

# The native AOT build: published with no trim/AOT warning at all, then put through the same
# process-level checks (HTTP, WebSocket, line socket, Swagger UI, socket files) as the JIT build.
aot_status=0
publish_log=$(mktemp)
if [ "${SKIP_AOT:-0}" = 1 ]; then
  echo "test.sh: SKIP_AOT=1: the native AOT build is not checked"
elif dotnet publish src/EchoApi -c Release -o artifacts/aot >"$publish_log" 2>&1; then
  if grep -E ': warning [A-Z]+[0-9]+' "$publish_log"; then
    echo "test.sh: the AOT publish has warnings (above)" >&2
    aot_status=1
  fi
  echo "test.sh: smoke suite against the native binary artifacts/aot/EchoApi"
  ECHOAPI_EXECUTABLE="$PWD/artifacts/aot/EchoApi" dotnet test tests/EchoApi.Tests --no-build --filter "Category=Process" 2>&1 | tee -a "$log" || aot_status=1
else
  cat "$publish_log"
  echo "test.sh: the AOT publish failed" >&2
  aot_status=1
fi

# One plain closing line: N passed, N failed, N skipped (over all runs; the library's tests are counted
# from xunit's own summary: Total, Failed, Skipped).
total() { grep -E '^(Passed|Failed)!' "$log" | sed -nE "s/.*$1: *([0-9]+).*/\\1/p" | awk '{ s += $1 } END { print s + 0 }'; }
library_count() { sed -nE "s/.*PeerCredentials.Tests +Total: *([0-9]+), Errors: *([0-9]+), Failed: *([0-9]+), Skipped: *([0-9]+).*/\\$1/p" "$log.library" | head -n 1; }
lib_total=$(library_count 1); lib_errors=$(library_count 2); lib_failed=$(library_count 3); lib_skipped=$(library_count 4)
if [ -z "$lib_total" ]; then
  echo "test.sh: the library's tests printed no summary" >&2
  lib_total=0 lib_errors=1 lib_failed=1 lib_skipped=0 library_status=1
fi
echo "test.sh: the library's tests: $lib_total run, $lib_failed failed, $lib_skipped skipped"
passed=$(( $(total Passed) + lib_total - lib_failed - lib_skipped ))
failed=$(( $(total Failed) + lib_failed + lib_errors ))
echo "tests: $passed passed, $failed failed, $(( $(total Skipped) + lib_skipped )) skipped"
[ "$status" -eq 0 ] && [ "$library_status" -eq 0 ] && [ "$aot_status" -eq 0 ]
