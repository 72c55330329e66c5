#!/usr/bin/env bash
# A tour of EchoApi with the clients a user reaches for: curl, a WebSocket client,
# nc -U, another user, and the socat bridge a browser needs. Each step prints the
# command it ran and what came back; the script exits non-zero if any answer is wrong.
#
#   ECHOAPI_SOCKET       the HTTP socket   (default: where the service puts it)
#   ECHOAPI_LINE_SOCKET  the line socket   (default: line.sock beside it)
#   ECHOAPI_BRIDGE_PORT  the socat bridge's port on 127.0.0.1 (default: 8080)
set -u

default_socket() {
  if [ -n "${XDG_RUNTIME_DIR:-}" ]; then echo "$XDG_RUNTIME_DIR/echoapi/echo.sock"
  elif [ "$(id -u)" -eq 0 ]; then echo "/run/echoapi/echo.sock"
  else echo "/tmp/echoapi-$(id -u)/echo.sock"; fi
}

SOCK=${ECHOAPI_SOCKET:-$(default_socket)}
LINE_SOCK=${ECHOAPI_LINE_SOCKET:-$(dirname "$SOCK")/line.sock}
PORT=${ECHOAPI_BRIDGE_PORT:-8080}
failures=0
work=$(mktemp -d)
bridge_pid=""
cleanup() {
  [ -n "$bridge_pid" ] && kill "$bridge_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; }
pass() { printf 'PASS: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }
skip() { printf 'SKIP: %s\n' "$*"; }
expect() { # expect WHAT EXPECTED ACTUAL
  if [ "$3" = "$2" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}
expect_contains() { # expect_contains WHAT NEEDLE HAYSTACK
  case "$3" in *"$2"*) pass "$1" ;; *) fail "$1: expected to contain '$2', got '$3'" ;; esac
}

# Runs a command as another user: setpriv as root, sudo -n otherwise. Empty when neither can.
as_other_user() {
  if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
    echo "setpriv --reuid=65534 --regid=65534 --clear-groups"
  elif command -v sudo >/dev/null && sudo -n -u nobody true 2>/dev/null; then
    echo "sudo -n -u nobody"
  fi
}

echo "EchoApi at $SOCK (line socket $LINE_SOCK), as uid $(id -u)"
if [ ! -S "$SOCK" ]; then
  echo "No socket at $SOCK: start the service first (dotnet run --project src/EchoApi) or set ECHOAPI_SOCKET." >&2
  exit 2
fi

step "Health"
show "curl --unix-socket $SOCK http://localhost/healthz"
out=$(curl -sS --unix-socket "$SOCK" http://localhost/healthz 2>&1); echo "$out"
expect "healthz answers ok" "ok" "$out"

step "Echo a line of text"
show "curl --unix-socket $SOCK -d hello http://localhost/echo"
out=$(curl -sS --unix-socket "$SOCK" -d hello http://localhost/echo 2>&1); echo "$out"
expect "echo returns the body" "hello" "$out"

step "Echo a binary file and compare"
head -c 1048576 /dev/urandom >"$work/in.bin"
show "curl --unix-socket $SOCK --data-binary @in.bin -H 'Content-Type: application/octet-stream' -o out.bin http://localhost/echo"
type=$(curl -sS --unix-socket "$SOCK" --data-binary @"$work/in.bin" -H 'Content-Type: application/octet-stream' \
  -o "$work/out.bin" -w '%{content_type}' http://localhost/echo 2>&1)
echo "$(wc -c <"$work/out.bin") bytes back, Content-Type: $type"
if cmp -s "$work/in.bin" "$work/out.bin"; then pass "1 MiB of random bytes came back identical"; else fail "the echoed file differs"; fi
expect "content type preserved" "application/octet-stream" "$type"

step "Who am I"
show "curl --unix-socket $SOCK http://localhost/whoami"
out=$(curl -sS --unix-socket "$SOCK" http://localhost/whoami 2>&1); echo "$out"
expect_contains "whoami shows my uid" "\"uid\":$(id -u)," "$out"

step "WebSocket line echo on /echo/ws"
if command -v websocat >/dev/null; then
  show "printf 'hello\\nsecond line\\n' | websocat -t --ws-c-uri=ws://localhost/echo/ws - ws-c:unix:$SOCK"
  out=$(printf 'hello\nsecond line\n' | timeout 10 websocat -t --ws-c-uri=ws://localhost/echo/ws - ws-c:unix:"$SOCK" 2>&1); echo "$out"
  expect "websocat: each line echoed" $'> hello\n> second line' "$out"
elif command -v wscat >/dev/null; then
  echo "(websocat is not installed; using wscat from npm)"
  show "wscat -c ws+unix://$SOCK:/echo/ws -x 'hello' -x \$'two\\nlines'"
  out=$(sleep 3 | timeout 10 wscat -c "ws+unix://$SOCK:/echo/ws" -x 'hello' -x $'two\nlines' -w 1 2>&1); echo "$out"
  expect "wscat: each line echoed" $'> hello\n> two\n> lines' "$out"
else
  skip "neither websocat nor wscat is installed (npm install -g wscat)"
fi

step "The classic line protocol with nc -U"
if [ ! -S "$LINE_SOCK" ]; then
  skip "no line socket at $LINE_SOCK (EchoApi:LineSocketPath is empty?)"
elif ! command -v nc >/dev/null; then
  skip "nc is not installed (apt-get install netcat-openbsd)"
else
  show "printf 'this is a line\\n' | nc -N -U $LINE_SOCK"
  out=$(printf 'this is a line\n' | timeout 10 nc -N -U "$LINE_SOCK" 2>&1); echo "$out"
  expect "nc: line echoed" "> this is a line" "$out"
fi

step "What another user sees"
other=$(as_other_user)
if [ -z "$other" ]; then
  skip "cannot run as another user here (needs root for setpriv, or passwordless sudo -u nobody)"
else
  show "$other curl -i --unix-socket $SOCK -d secret http://localhost/echo"
  out=$($other curl -sS -i --unix-socket "$SOCK" -d secret http://localhost/echo 2>&1); rc=$?; echo "$out"
  if [ $rc -eq 7 ]; then
    pass "the socket file's permissions keep other users out before any byte is sent"
  else
    expect_contains "another user gets 403" "HTTP/1.1 403" "$out"
    case "$out" in *secret*) fail "another user's body was echoed" ;; *) pass "nothing of its body came back" ;; esac
  fi
  if [ -S "$LINE_SOCK" ] && command -v nc >/dev/null; then
    show "$other nc -U $LINE_SOCK"
    out=$(printf 'let me in\n' | timeout 10 $other nc -U "$LINE_SOCK" 2>&1); rc=$?; echo "$out"
    case "$out" in
      "Unauthorized access") pass "another user reads Unauthorized access on the line socket" ;;
      *"Permission denied"*) pass "the line socket's permissions keep other users out" ;;
      *) fail "another user on the line socket: '$out'" ;;
    esac
  fi
fi

step "A TCP bridge for a browser (Swagger UI)"
if ! command -v socat >/dev/null; then
  skip "socat is not installed (apt-get install socat)"
else
  cat <<WARN
Warning: through the bridge every client is socat, so every local user who can
reach 127.0.0.1:$PORT speaks to EchoApi with YOUR uid. Bind it to 127.0.0.1 only,
and stop it when you are done.
WARN
  show "socat TCP-LISTEN:$PORT,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:$SOCK &"
  socat TCP-LISTEN:"$PORT",bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$SOCK" &
  bridge_pid=$!
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
  show "curl -d 'through the bridge' http://127.0.0.1:$PORT/echo"
  out=$(curl -sS -d 'through the bridge' "http://127.0.0.1:$PORT/echo" 2>&1); echo "$out"
  expect "echo through the bridge" "through the bridge" "$out"
  show "curl http://127.0.0.1:$PORT/whoami"
  out=$(curl -sS "http://127.0.0.1:$PORT/whoami" 2>&1); echo "$out"
  expect_contains "the bridge speaks with the uid of whoever started socat" "\"uid\":$(id -u)," "$out"
  echo "Open http://127.0.0.1:$PORT/swagger in a browser while the bridge runs."
  # At a terminal the bridge stays up until Enter, so that there is time to open the page; a run
  # without one (a test, a pipe) goes straight on.
  if [ -t 0 ] && [ -t 1 ]; then
    read -r -p "Press Enter to stop the bridge. " _
  fi
  kill "$bridge_pid" 2>/dev/null; wait "$bridge_pid" 2>/dev/null; bridge_pid=""
  echo "(bridge stopped)"
fi

printf '\n'
if [ "$failures" -gt 0 ]; then
  echo "$failures step(s) FAILED"
  exit 1
fi
echo "All steps passed."
