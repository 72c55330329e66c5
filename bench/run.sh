#!/usr/bin/env bash
# bench/run.sh — EchoApi against the minimal Kestrel baseline and the Go anchors, in one run.
#
#   bash bench/run.sh            # JIT build (dotnet build -c Release), to bench/results.md
#   bash bench/run.sh --aot      # native AOT (dotnet publish), to bench/results-aot.md: the headline
#   bash bench/run.sh --quick    # smoke run (1 round of 2 s), to bench/results-quick.md (or -aot-quick)
#
# Environment: ROUNDS, SECONDS_PER_ROUND, START_RUNS (starts measured per build), ECHOAPI_BIN and
# BASELINE_BIN (executables to use instead of building; a native one, with no .dll beside it, makes
# it an AOT run), ANCHORS_DIR (default ../shared/anchors), RESULTS (where the Markdown goes).
#
# Every round of every scenario alternates the servers (A, B, C, A, B, C, ...) so that the noise
# of a shared machine hits all alike; the tables quote medians of the rounds and the ratios
# EchoApi / baseline and EchoApi / anchor. Every server and attacker started here is stopped on exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

# How this run was asked for, for the results.
INVOKED="bash bench/run.sh${*:+ $*}"
for v in RESULTS ANCHORS_DIR BASELINE_BIN ECHOAPI_BIN START_RUNS SECONDS_PER_ROUND ROUNDS; do
    [[ -n ${!v:-} ]] && INVOKED="$v=${!v} $INVOKED"
done

QUICK=0
AOT=0
for arg in "$@"; do
    case $arg in
        --quick) QUICK=1 ;;
        --aot) AOT=1 ;;
        -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "run.sh: unknown argument '$arg' (try --quick or --aot)" >&2; exit 2 ;;
    esac
done
# A native EchoApi (no EchoApi.dll beside it: not an apphost) makes this an AOT run, as --aot does.
if [[ -n ${ECHOAPI_BIN:-} && ! -e $(dirname "$ECHOAPI_BIN")/EchoApi.dll ]]; then AOT=1; fi
RESULTS_BASE=results
((AOT)) && RESULTS_BASE=results-aot
if ((QUICK)); then
    ROUNDS=${ROUNDS:-1}; SECONDS_PER_ROUND=${SECONDS_PER_ROUND:-2}; WARMUP=1; START_RUNS=${START_RUNS:-2}
    RESULTS=${RESULTS:-$ROOT/bench/$RESULTS_BASE-quick.md} # a smoke run must not replace the quoted numbers
else
    ROUNDS=${ROUNDS:-3}; SECONDS_PER_ROUND=${SECONDS_PER_ROUND:-5}; WARMUP=2; START_RUNS=${START_RUNS:-5}
    RESULTS=${RESULTS:-$ROOT/bench/$RESULTS_BASE.md}
fi
# Bounds: the default run takes about 13 minutes, plus a few for the AOT publish.
if ! [[ $ROUNDS =~ ^[0-9]+$ ]] || ((ROUNDS < 1 || ROUNDS > 20)); then echo "run.sh: ROUNDS must be 1..20" >&2; exit 2; fi
if ! [[ $SECONDS_PER_ROUND =~ ^[0-9]+$ ]] || ((SECONDS_PER_ROUND < 1 || SECONDS_PER_ROUND > 60)); then
    echo "run.sh: SECONDS_PER_ROUND must be 1..60 (whole seconds)" >&2; exit 2
fi
if ! [[ $START_RUNS =~ ^[0-9]+$ ]] || ((START_RUNS < 1 || START_RUNS > 20)); then echo "run.sh: START_RUNS must be 1..20" >&2; exit 2; fi
STREAM_BYTES=$((256 * 1024 * 1024)) # scenario f: one POST /echo of this size
STREAM_POSTS=3                      # scenario f: posts per server in each round
IDLE_CONNS=1000                     # scenario g: idle keep-alive connections held
# EchoApi's settings that the bench changes, in one place (their names follow src/EchoApi's options).
ECHOAPI_OPEN=(--EchoApi:SocketMode=0666)                          # the attacker of d must reach echo.sock
ECHOAPI_OWNER_SOCKET=--EchoApi:OwnerSocketPath                    # d's own-* phases
ECHOAPI_STREAM=(--EchoApi:MaxEchoBytes=$STREAM_BYTES)            # f: the default is 16 MiB
ECHOAPI_MANY_CONNS=(--EchoApi:MaxConnectionsPerUser=$((IDLE_CONNS + 64))) # g: one uid holds 1000; the default is 256
ANCHORS_DIR=${ANCHORS_DIR:-$ROOT/../shared/anchors}
[[ -d $ANCHORS_DIR ]] && ANCHORS_DIR=$(cd "$ANCHORS_DIR" && pwd)
ATTACK_UID=65534       # the kernel's overflow uid ("nobody"): never the owner
SLOWLORIS_CONNS=500

log() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------- work directory and cleanup
# The directory is 0755 so that the attacker's uid can reach the sockets inside it.
RUN=$(mktemp -d /tmp/echoapi-bench.XXXXXX)
chmod 0755 "$RUN"
mkdir -p "$RUN/res"
PIDS=()
cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if ((rc == 0)); then rm -rf "$RUN"; else log "run.sh: failed (exit $rc); logs kept in $RUN"; fi
}
trap cleanup EXIT
# A process that has been waited for leaves the list, so that cleanup never signals a reused pid.
forget_pid() {
    local keep=() pid
    for pid in "${PIDS[@]}"; do [[ $pid == "$1" ]] || keep+=("$pid"); done
    PIDS=("${keep[@]}")
}
trap 'exit 130' INT TERM

# Commands are recorded once each, for the "exact commands" section of the results.
note_cmd() { grep -Fxq -- "$*" "$RUN/commands.txt" 2>/dev/null || printf '%s\n' "$*" >> "$RUN/commands.txt"; }

# ---------------------------------------------------------------- build
LOAD=bench/loadgen/echoload
log "== building echoload"
note_cmd "gcc -O2 -Wall -Wextra -Werror -o $LOAD bench/loadgen/echoload.c"
gcc -O2 -Wall -Wextra -Werror -o "$LOAD" bench/loadgen/echoload.c
note_cmd "gcc -O2 -Wall -Wextra -Werror -o bench/loadgen/acceptclose bench/loadgen/acceptclose.c"
gcc -O2 -Wall -Wextra -Werror -o bench/loadgen/acceptclose bench/loadgen/acceptclose.c
note_cmd "gcc -O2 -Wall -Wextra -Werror -o bench/loadgen/startmem bench/loadgen/startmem.c"
gcc -O2 -Wall -Wextra -Werror -o bench/loadgen/startmem bench/loadgen/startmem.c
ATTACK_LOAD=$ROOT/$LOAD
if ((EUID == 0)) && ! setpriv --reuid=$ATTACK_UID --regid=$ATTACK_UID --clear-groups test -x "$ATTACK_LOAD" 2>/dev/null; then
    # The checkout is not reachable by the attacker's uid: give it a copy it can run.
    cp "$ATTACK_LOAD" "$RUN/echoload" && chmod 0755 "$RUN/echoload" && ATTACK_LOAD=$RUN/echoload
fi

# dotnet_step LOG CMD...: one build step, its output kept; on failure the end of it is shown.
dotnet_step() {
    local logf=$RUN/$1; shift
    note_cmd "$*"
    if ! "$@" > "$logf" 2>&1; then tail -30 "$logf" >&2; exit 1; fi
}
# The JIT build of EchoApi is built in every run: it is the server of a JIT run, and a row of g in an AOT run.
ECHOAPI_DLL=src/EchoApi/bin/Release/net10.0/EchoApi.dll
if ((AOT)) || [[ -z ${ECHOAPI_BIN:-} ]]; then
    log "== building EchoApi (Release, JIT)"
    dotnet_step dotnet-build.log dotnet build -c Release src/EchoApi
fi
if [[ -n ${ECHOAPI_BIN:-} ]]; then
    [[ -x $ECHOAPI_BIN ]] || { log "run.sh: ECHOAPI_BIN=$ECHOAPI_BIN is not executable"; exit 1; }
    ECHOAPI_CMD=("$ECHOAPI_BIN")
    ECHOAPI_DESC="ECHOAPI_BIN=$ECHOAPI_BIN"
elif ((AOT)); then
    log "== publishing EchoApi (native AOT; takes minutes)"
    dotnet_step dotnet-publish.log dotnet publish -c Release src/EchoApi -o "$RUN/aot/echoapi"
    ECHOAPI_CMD=("$RUN/aot/echoapi/EchoApi")
    ECHOAPI_DESC="native AOT, dotnet publish -c Release src/EchoApi (the working tree)"
else
    ECHOAPI_CMD=(dotnet "$ECHOAPI_DLL")
    ECHOAPI_DESC="dotnet $ECHOAPI_DLL (Release build of the working tree, JIT)"
fi
# The baseline is built the same way as EchoApi: JIT next to JIT, native next to native.
if [[ -n ${BASELINE_BIN:-} ]]; then
    [[ -x $BASELINE_BIN ]] || { log "run.sh: BASELINE_BIN=$BASELINE_BIN is not executable"; exit 1; }
    BASELINE_CMD=("$BASELINE_BIN")
    BASELINE_DESC="BASELINE_BIN=$BASELINE_BIN"
elif ((AOT)); then
    log "== publishing the baseline (native AOT)"
    dotnet_step baseline-publish.log dotnet publish -c Release bench/baseline -o "$RUN/aot/baseline"
    BASELINE_CMD=("$RUN/aot/baseline/Baseline")
    BASELINE_DESC="native AOT, dotnet publish -c Release bench/baseline"
else
    log "== building the baseline (Release, JIT)"
    dotnet_step baseline-build.log dotnet build -c Release bench/baseline
    BASELINE_CMD=(dotnet bench/baseline/bin/Release/net10.0/Baseline.dll)
    BASELINE_DESC="dotnet bench/baseline/bin/Release/net10.0/Baseline.dll (JIT)"
fi
if ((AOT)); then BUILD=AOT; else BUILD=JIT; fi

GO_OK=0
GO_NOTE=""
if [[ ! -d $ANCHORS_DIR/go-http || ! -d $ANCHORS_DIR/go-seed ]]; then
    GO_NOTE="Go anchors not found in $ANCHORS_DIR: the anchor rows are skipped."
else
    GO_DEPS=(/usr/share/gocode/src/golang.org/x/sys /usr/share/gocode/src/github.com/gorilla/websocket)
    go_ready() { command -v go > /dev/null && [[ -d ${GO_DEPS[0]} && -d ${GO_DEPS[1]} ]]; }
    if ! go_ready && ((EUID == 0)); then
        GO_PKGS=(golang-go golang-golang-x-sys-dev golang-github-gorilla-websocket-dev)
        log "== installing Go (Debian's ${GO_PKGS[*]})"
        note_cmd "apt-get install -y ${GO_PKGS[*]}"
        { apt-get install -y "${GO_PKGS[@]}" || { apt-get update && apt-get install -y "${GO_PKGS[@]}"; }; } \
            > "$RUN/apt.log" 2>&1 || log "run.sh: installing Go failed (see $RUN/apt.log)"
    fi
    if go_ready; then
        log "== building the Go anchors"
        for a in go-http go-seed; do
            note_cmd "(cd $ANCHORS_DIR/$a && GO111MODULE=off GOPATH=/usr/share/gocode go build -o $RUN/$a-echo .)"
            (cd "$ANCHORS_DIR/$a" && GO111MODULE=off GOPATH=/usr/share/gocode go build -o "$RUN/$a-echo" .) 2> "$RUN/go-build.log" \
                || { cat "$RUN/go-build.log" >&2; exit 1; }
        done
        GO_OK=1
    else
        GO_NOTE="No Go toolchain (and not root, or the install failed): the anchor rows are skipped."
    fi
fi
[[ -n $GO_NOTE ]] && log "run.sh: $GO_NOTE"

ATTACK_OK=1
ATTACK_NOTE=""
if ((EUID != 0)) || ! command -v setpriv > /dev/null; then
    ATTACK_OK=0
    ATTACK_NOTE="Not root (or no setpriv): the attack phases of scenario d are skipped."
    log "run.sh: $ATTACK_NOTE"
fi

# ---------------------------------------------------------------- servers
# start_server NAME SOCK KIND CMD...: starts CMD in the background, waits until SOCK answers
# (KIND http: a POST /echo; KIND line: one line), sets SERVER_PID. SHOWN is how the command
# is written in the results (set by the caller when "$*" would not read back right).
start_server() {
    local name=$1 sock=$2 kind=$3; shift 3
    note_cmd "${SHOWN:-$*}"
    "$@" > "$RUN/$name.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    local i out
    for ((i = 0; i < 150; i++)); do # at most 30 s
        kill -0 "$SERVER_PID" 2>/dev/null || { log "run.sh: $name exited at start:"; tail -20 "$RUN/$name.log" >&2; exit 1; }
        if [[ -S $sock ]]; then
            out=$("$LOAD" "$kind" "$sock" -c 1 -n 1 -d 1 2>/dev/null || true)
            [[ $out == *'"requests":1,'* && $out == *'"bad":0,'* ]] && return 0
        fi
        sleep 0.2
    done
    log "run.sh: $name did not answer on $sock within 30 s"; tail -20 "$RUN/$name.log" >&2; exit 1
}

start_echoapi() { # start_echoapi [SETTING...]: EchoApi with the bench's settings and these
    # echo.sock is open to every uid (the attacker's too); owner.sock (mode 0600) to the owner alone.
    start_server echoapi "$RUN/echo.sock" http "${ECHOAPI_CMD[@]}" --socket "$RUN/echo.sock" "${ECHOAPI_OPEN[@]}" \
        "$ECHOAPI_OWNER_SOCKET=$RUN/owner.sock" "$@"
    ECHO_PID=$SERVER_PID
}
start_baseline() {
    start_server baseline "$RUN/baseline.sock" http "${BASELINE_CMD[@]}" "$RUN/baseline.sock"
    BASELINE_PID=$SERVER_PID
}
# The anchors make their sockets with the umask; 000 makes them reachable by other uids like
# EchoApi's 0666, so both face the same attacker.
start_anchor() { # start_anchor NAME SOCK KIND
    SHOWN="(umask 000; exec $RUN/$1-echo $2)" start_server "$1" "$2" "$3" bash -c 'umask 000; exec "$0" "$1"' "$RUN/$1-echo" "$2"
    ANCHOR_PID=$SERVER_PID
}

stop_server() {
    local pid=$1 i
    kill "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}

# Peak resident memory of a process so far, in MiB (VmHWM is the high-water mark since start).
peak_rss_mib() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

# ---------------------------------------------------------------- measuring
# measure KEY SOCK MODE ARGS...: one run of the load generator, its JSON line appended to res/KEY.
measure() {
    local key=$1 sock=$2 mode=$3; shift 3
    local cmd=("$LOAD" "$mode" "$sock" "$@" -d "$SECONDS_PER_ROUND")
    note_cmd "${cmd[*]}"
    local out
    out=$("${cmd[@]}")
    printf '%s\n' "$out" >> "$RUN/res/$key"
    log "   $key: $(summary "$out")"
}
warm() { # warm SOCK MODE ARGS...: JIT and connection pools warm up here; the numbers are dropped
    local sock=$1 mode=$2; shift 2
    "$LOAD" "$mode" "$sock" "$@" -d "$WARMUP" > /dev/null
}

field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" <<< "$2" | tr -d '"'; }
summary() { printf 'rps=%s p50=%sus p99=%sus bad=%s errors=%s' "$(field rps "$1")" "$(field p50_us "$1")" \
    "$(field p99_us "$1")" "$(field bad "$1")" "$(field errors "$1")"; }

# median KEY FIELD: the median of FIELD over the rounds stored in res/KEY.
median() {
    local key=$1 name=$2
    [[ -s $RUN/res/$key ]] || { echo "-"; return; }
    while read -r line; do field "$name" "$line"; done < "$RUN/res/$key" | sort -g |
        awk '{ v[NR] = $1 } END { printf "%.3f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
total() { # total KEY FIELD: summed over the rounds (bad answers and errors must not hide in a median)
    local key=$1 name=$2
    [[ -s $RUN/res/$key ]] || { echo "-"; return; }
    while read -r line; do field "$name" "$line"; done < "$RUN/res/$key" | awk '{ s += $1 } END { print s + 0 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
int() { awk -v a="$1" 'BEGIN { if (a == "-") print "-"; else printf "%.0f", a }'; }

# ---------------------------------------------------------------- scenarios a, b, c, e
declare -A RSS
sock_of() { # sock_of SERVER MODE: where SERVER listens in this scenario
    case $1 in
        echoapi) if [[ $2 == line ]]; then echo "$RUN/line.sock"; else echo "$RUN/echo.sock"; fi ;;
        *) echo "$RUN/$1.sock" ;;
    esac
}
# start_servers MODE SERVER... [-- ECHOAPI_SETTING...]: fresh servers; sets STARTED to those that run
# and PID_OF[server]. The Go anchors are left out when there is no Go.
declare -A PID_OF
start_servers() {
    local mode=$1 s; shift
    local names=() extra=()
    while (($#)); do if [[ $1 == -- ]]; then shift; extra=("$@"); break; fi; names+=("$1"); shift; done
    STARTED=()
    for s in "${names[@]}"; do
        case $s in
            echoapi) start_echoapi "${extra[@]}"; PID_OF[$s]=$ECHO_PID ;;
            baseline) start_baseline; PID_OF[$s]=$BASELINE_PID ;;
            *) ((GO_OK)) || continue; start_anchor "$s" "$RUN/$s.sock" "$mode"; PID_OF[$s]=$ANCHOR_PID ;;
        esac
        STARTED+=("$s")
    done
}
stop_servers() { # stop_servers SCENARIO: notes each server's peak RSS, then stops it
    local s
    for s in "${STARTED[@]}"; do RSS[$1.$s]=$(peak_rss_mib "${PID_OF[$s]}"); stop_server "${PID_OF[$s]}"; done
}

# pair SCENARIO "SERVER..." MODE ARGS...: the servers against each other, alternating, ROUNDS rounds each.
pair() {
    local sc=$1 servers=$2 mode=$3; shift 3
    log "== scenario $sc: $mode $* ($servers)"
    # shellcheck disable=SC2086 # the list of servers is split on purpose
    start_servers "$mode" $servers
    local s r
    for s in "${STARTED[@]}"; do warm "$(sock_of "$s" "$mode")" "$mode" "$@"; done
    for ((r = 1; r <= ROUNDS; r++)); do
        for s in "${STARTED[@]}"; do measure "$sc.$s" "$(sock_of "$s" "$mode")" "$mode" "$@"; done
    done
    stop_servers "$sc"
}

# ---------------------------------------------------------------- scenario f: one big POST /echo
# stream_post SOCK [VERIFY]: one POST of $RUN/stream.bin; prints a JSON line like echoload's. The
# answer is thrown away but its status and length are checked; with VERIFY its SHA-256 too (outside
# the timed posts: hashing 256 MiB would cost the client a core the servers need).
stream_post() {
    local sock=$1 verify=${2:-} out code size secs hash="" bad=0
    local cmd=(curl -sS --unix-socket "$sock" -X POST -T "$RUN/stream.bin" -H 'Content-Type: application/octet-stream'
        -H 'Expect:' -w '%{http_code} %{size_download} %{time_total}' http://localhost/echo)
    note_cmd "curl -sS --unix-socket $sock -X POST -T $RUN/stream.bin -H 'Content-Type: application/octet-stream' -H 'Expect:' -w '%{http_code} %{size_download} %{time_total}' http://localhost/echo -o /dev/null"
    if [[ -n $verify ]]; then
        out=$("${cmd[@]}" -o "$RUN/stream.out") || true
        hash=$(sha256sum < "$RUN/stream.out" | cut -d' ' -f1)
        rm -f "$RUN/stream.out"
        [[ $hash == "$STREAM_SHA256" ]] || bad=1
    else
        out=$("${cmd[@]}" -o /dev/null) || true
    fi
    read -r code size secs <<< "$out"
    [[ $code == 200 && $size == "$STREAM_BYTES" ]] || bad=1
    awk -v c="$code" -v n="$size" -v t="$secs" -v bad="$bad" -v h="${hash:+,\"sha256_ok\":$((1 - bad))}" 'BEGIN {
        printf "{\"mode\":\"stream\",\"status\":%s,\"bytes\":%s,\"secs\":%.3f,\"mbps\":%.1f,\"bad\":%d,\"errors\":0%s}\n",
            c + 0, n + 0, t, (t > 0 ? n / t / 1e6 : 0), bad, h }'
}
stream() {
    log "== scenario f: one POST /echo of $((STREAM_BYTES >> 20)) MiB, $STREAM_POSTS per server and round"
    note_cmd "head -c $STREAM_BYTES /dev/urandom > $RUN/stream.bin"
    head -c "$STREAM_BYTES" /dev/urandom > "$RUN/stream.bin"
    STREAM_SHA256=$(sha256sum < "$RUN/stream.bin" | cut -d' ' -f1)
    start_servers http echoapi baseline go-http -- "${ECHOAPI_STREAM[@]}"
    local s r i out
    for s in "${STARTED[@]}"; do # the warm-up post is the one whose answer is hashed
        out=$(stream_post "$(sock_of "$s" http)" verify)
        printf '%s\n' "$out" >> "$RUN/res/f.$s.verify"
        log "   f.$s (warm-up, SHA-256 checked): $out"
    done
    for ((r = 1; r <= ROUNDS; r++)); do
        for s in "${STARTED[@]}"; do
            for ((i = 0; i < STREAM_POSTS; i++)); do
                out=$(stream_post "$(sock_of "$s" http)")
                printf '%s\n' "$out" >> "$RUN/res/f.$s"
                log "   f.$s: $(field mbps "$out") MB/s status=$(field status "$out") bad=$(field bad "$out")"
            done
        done
    done
    stop_servers f
    rm -f "$RUN/stream.bin"
}

# ---------------------------------------------------------------- scenario g: memory and start
# MEM_BUILDS: what g measures. An AOT run measures the JIT build of EchoApi too.
MEM_BUILDS=(echoapi)
((AOT)) && MEM_BUILDS+=(echoapi-jit)
MEM_BUILDS+=(baseline)
mem_run() { # mem_run BUILD: one start of BUILD under startmem, its JSON line appended to res/g.BUILD
    local b=$1 dir=$RUN/g-$1 cmd extra=()
    mkdir -p "$dir"
    case $b in
        echoapi) cmd=("${ECHOAPI_CMD[@]}" --socket "$dir/echo.sock" "${ECHOAPI_MANY_CONNS[@]}"); extra=(-u "$dir/line.sock") ;;
        echoapi-jit) cmd=(dotnet "$ECHOAPI_DLL" --socket "$dir/echo.sock" "${ECHOAPI_MANY_CONNS[@]}"); extra=(-u "$dir/line.sock") ;;
        baseline) cmd=("${BASELINE_CMD[@]}" "$dir/echo.sock") ;;
        go-http) cmd=("$RUN/go-http-echo" "$dir/echo.sock") ;;
    esac
    local full=(bench/loadgen/startmem "$dir/echo.sock" -c "$IDLE_CONNS" -l "$RUN/g-$b.log" "${extra[@]}" -- "${cmd[@]}")
    note_cmd "${full[*]}"
    local out
    if ! out=$("${full[@]}"); then
        log "run.sh: startmem failed for $b: $out"; tail -20 "$RUN/g-$b.log" >&2; exit 1
    fi
    printf '%s\n' "$out" >> "$RUN/res/g.$b"
    log "   g.$b: $out"
}
memory() {
    ((GO_OK)) && MEM_BUILDS+=(go-http)
    log "== scenario g: start to the first GET /healthz answer, idle RSS, RSS with $IDLE_CONNS idle connections (${MEM_BUILDS[*]}), $START_RUNS starts each"
    local r b
    for ((r = 1; r <= START_RUNS; r++)); do
        for b in "${MEM_BUILDS[@]}"; do mem_run "$b"; done
    done
}

# ---------------------------------------------------------------- scenario d: the owner under abuse
# owner_under SERVER SOCK PHASE: the owner's POST /echo c=4 while uid 65534 runs PHASE. The phases
# ending in -new open a new connection for every request of the owner (-k 0), the others keep theirs.
# The phases starting with own- (EchoApi only) have the owner on its own socket, EchoApi:OwnerSocketPath,
# while the attacker aims at the shared one.
owner_under() {
    local server=$1 sock=$2 phase=$3
    local key=d.$server.$phase
    local owner=(http -c 4 -b 16)
    [[ $phase == *-new ]] && owner+=(-k 0)
    local owner_sock=$sock
    if [[ $phase == own-* ]]; then
        [[ $server == echoapi ]] || return 0
        owner_sock=$RUN/owner.sock
    fi
    local attack base=${phase#own-}
    case ${base%-new} in
        quiet) measure "$key" "$owner_sock" "${owner[@]}"; return ;;
        cpu) attack=(timeout $((SECONDS_PER_ROUND + 2)) sh -c 'while :; do :; done') ;;
        slowloris) attack=("$ATTACK_LOAD" slowloris "$sock" -c "$SLOWLORIS_CONNS" -d $((SECONDS_PER_ROUND + 2))) ;;
        flood) attack=("$ATTACK_LOAD" flood "$sock" -c 16 -d $((SECONDS_PER_ROUND + 2))) ;;
        flood-elsewhere) attack=("$ATTACK_LOAD" flood "$RUN/acceptclose.sock" -c 16 -d $((SECONDS_PER_ROUND + 2))) ;;
    esac
    # The attacker starts a second early (to open its connections) and outlasts the measurement.
    local cmd=(setpriv --reuid=$ATTACK_UID --regid=$ATTACK_UID --clear-groups "${attack[@]}")
    note_cmd "${cmd[*]}"
    "${cmd[@]}" > "$RUN/attacker.out" 2> "$RUN/attacker.err" &
    local apid=$!
    PIDS+=("$apid")
    sleep 1
    measure "$key" "$owner_sock" "${owner[@]}"
    local rc=0
    wait "$apid" || rc=$?
    forget_pid "$apid"
    # timeout ends the cpu burner with 124: that is its normal end
    if ((rc != 0)) && ! [[ ${base%-new} == cpu && $rc == 124 ]]; then
        log "run.sh: the attacker failed (exit $rc):"; cat "$RUN/attacker.err" >&2; exit 1
    fi
    if [[ -s $RUN/attacker.out ]]; then
        cat "$RUN/attacker.out" >> "$RUN/res/$key.attacker"
        log "   $key.attacker: $(cat "$RUN/attacker.out")"
    fi
}

abuse() {
    log "== scenario d: the owner's POST /echo 16 B c=4, quiet and under attack by uid $ATTACK_UID"
    start_echoapi
    local servers=("echoapi:$RUN/echo.sock")
    if ((GO_OK)); then start_anchor go-http "$RUN/go-http.sock" http; servers+=("go-http:$RUN/go-http.sock"); fi
    local phases=(quiet)
    ((ATTACK_OK)) && phases+=(cpu slowloris flood flood-elsewhere)
    local ac_pid=""
    if ((ATTACK_OK)); then # the target of flood-elsewhere: a C server that only accepts and closes
        note_cmd "bench/loadgen/acceptclose $RUN/acceptclose.sock"
        bench/loadgen/acceptclose "$RUN/acceptclose.sock" > "$RUN/acceptclose.log" 2>&1 &
        ac_pid=$!
        PIDS+=("$ac_pid")
        local i
        for ((i = 0; i < 50; i++)); do [[ -S $RUN/acceptclose.sock ]] && break; sleep 0.1; done
        [[ -S $RUN/acceptclose.sock ]] || { log "run.sh: acceptclose did not start:"; cat "$RUN/acceptclose.log" >&2; exit 1; }
    fi
    phases+=(quiet-new)
    ((ATTACK_OK)) && phases+=(flood-new)
    phases+=(own-quiet)
    ((ATTACK_OK)) && phases+=(own-flood)
    phases+=(own-quiet-new)
    ((ATTACK_OK)) && phases+=(own-flood-new)
    local s r p
    for s in "${servers[@]}"; do warm "${s#*:}" http -c 4 -b 16; done
    for ((r = 1; r <= ROUNDS; r++)); do
        for p in "${phases[@]}"; do
            for s in "${servers[@]}"; do owner_under "${s%%:*}" "${s#*:}" "$p"; done
        done
    done
    RSS[d.echoapi]=$(peak_rss_mib "$ECHO_PID")
    stop_server "$ECHO_PID"
    if ((GO_OK)); then RSS[d.go-http]=$(peak_rss_mib "$ANCHOR_PID"); stop_server "$ANCHOR_PID"; fi
    if [[ -n $ac_pid ]]; then stop_server "$ac_pid"; fi
}

LOAD_AVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$SECONDS
pair a "echoapi baseline go-http" http -c 16 -b 16
pair b "echoapi baseline go-http" http -c 16 -b 16 -k 0
pair c "echoapi go-seed" line -c 16 -b 16
pair e "echoapi baseline go-http" ws -c 16 -b 16
stream
memory
abuse
ELAPSED=$((SECONDS - T0))
LOAD_AVG_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- the report
row() { # row SCENARIO KEY NAME: one server's medians
    local key=$1.$2
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$3" "$(display "$2")" "$(int "$(median "$key" rps)")" \
        "$(int "$(median "$key" p50_us)")" "$(int "$(median "$key" p99_us)")" "$(int "$(median "$key" p999_us)")" \
        "$(total "$key" bad)" "$(total "$key" errors)" "${RSS[$key]:-?}"
}
display() {
    case $1 in
        echoapi) echo "EchoApi ($BUILD)" ;;
        echoapi-jit) echo "EchoApi (JIT)" ;;
        baseline) echo "baseline ($BUILD)" ;;
        *) echo "$1" ;;
    esac
}
bad_sum() { # bad_sum KEY...: wrong answers over all rounds of these keys (missing keys count 0)
    local t=0 k
    for k; do [[ -s $RUN/res/$k ]] && t=$((t + $(total "$k" bad))); done
    echo "$t"
}
ratio_row() { # ratio_row SCENARIO OTHER: EchoApi's medians divided by OTHER's
    local e=$1.echoapi a=$1.$2
    [[ -s $RUN/res/$a ]] || return 0
    local bad
    bad=$(bad_sum "$e" "$a")
    if ((bad > 0)); then # wrong answers make the speed numbers meaningless: no ratio to quote
        printf '| | **EchoApi / %s** | **no ratio: %s wrong answers** | | | | | | |\n' "$2" "$bad"
        return
    fi
    printf '| | **EchoApi / %s** | **%s** | %s | **%s** | %s | | | %s |\n' "$2" \
        "$(ratio "$(median "$e" rps)" "$(median "$a" rps)")" "$(ratio "$(median "$e" p50_us)" "$(median "$a" p50_us)")" \
        "$(ratio "$(median "$e" p99_us)" "$(median "$a" p99_us)")" "$(ratio "$(median "$e" p999_us)" "$(median "$a" p999_us)")" \
        "$(ratio "${RSS[$e]:-"-"}" "${RSS[$a]:-"-"}")"
}
# Scenario f and g: like median, the smallest and largest over the runs.
extreme() { # extreme KEY FIELD min|max
    [[ -s $RUN/res/$1 ]] || { echo "-"; return; }
    while read -r line; do field "$2" "$line"; done < "$RUN/res/$1" | sort -g | if [[ $3 == min ]]; then head -1; else tail -1; fi
}
fmt() { # fmt VALUE DECIMALS [DIVISOR]
    awk -v a="$1" -v d="$2" -v q="${3:-1}" 'BEGIN { if (a == "-" || a == "") print "–"; else printf "%.*f", d, a / q }'
}
# The summary: one line per scenario, EchoApi, the baseline, the Go anchor and the two ratios.
# summary_row LABEL FIELD DECIMALS DIVISOR KEY_ECHOAPI KEY_BASELINE KEY_ANCHOR
summary_row() {
    local label=$1 f=$2 d=$3 q=$4 e=$5 b=$6 a=$7
    local ve vb va rb ra bad
    ve=$(median "$e" "$f"); vb=$(median "$b" "$f"); va=$(median "$a" "$f")
    rb=$(ratio "$ve" "$vb"); ra=$(ratio "$ve" "$va")
    bad=$(bad_sum "$e" "$b" "$a")
    if ((bad > 0)); then rb="no ratio: $bad wrong answers"; ra=$rb; fi
    printf '| %s | %s | %s | %s | **%s** | **%s** |\n' "$label" "$(fmt "$ve" "$d" "$q")" "$(fmt "$vb" "$d" "$q")" \
        "$(fmt "$va" "$d" "$q")" "${rb/#-/–}" "${ra/#-/–}"
}
stream_row() { # stream_row SERVER
    local k=f.$1
    [[ -s $RUN/res/$k ]] || return 0
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(display "$1")" "$(fmt "$(median "$k" mbps)" 0)" \
        "$(fmt "$(extreme "$k" mbps min)" 0)" "$(fmt "$(extreme "$k" mbps max)" 0)" "$(fmt "$(median "$k" secs)" 3)" \
        "$(bad_sum "$k" "$k.verify")" "$(if [[ $(bad_sum "$k.verify") == 0 ]]; then echo yes; else echo "**no**"; fi)" "${RSS[f.$1]:-?}"
}
stream_ratio_row() { # stream_ratio_row OTHER
    local e=f.echoapi a=f.$1 bad
    [[ -s $RUN/res/$a ]] || return 0
    bad=$(bad_sum "$e" "$e.verify" "$a" "$a.verify")
    if ((bad > 0)); then printf '| **EchoApi / %s** | **no ratio: %s wrong answers** | | | | | | |\n' "$1" "$bad"; return; fi
    printf '| **EchoApi / %s** | **%s** | | | %s | | | %s |\n' "$1" "$(ratio "$(median "$e" mbps)" "$(median "$a" mbps)")" \
        "$(ratio "$(median "$e" secs)" "$(median "$a" secs)")" "$(ratio "${RSS[f.echoapi]:-"-"}" "${RSS[$a]:-"-"}")"
}
mem_row() { # mem_row BUILD
    local k=g.$1
    [[ -s $RUN/res/$k ]] || return 0
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(display "$1")" "$(fmt "$(median "$k" start_ms)" 1)" \
        "$(fmt "$(extreme "$k" start_ms min)" 1)" "$(fmt "$(extreme "$k" start_ms max)" 1)" \
        "$(sort -u < <(while read -r l; do field status "$l"; done < "$RUN/res/$k") | paste -sd/)" \
        "$(fmt "$(median "$k" idle_rss_kib)" 1 1024)" "$(fmt "$(median "$k" conns_rss_kib)" 1 1024)" \
        "$(awk -v a="$(median "$k" conns_rss_kib)" -v b="$(median "$k" idle_rss_kib)" -v n="$IDLE_CONNS" 'BEGIN { printf "%.1f", (a - b) / n }')" \
        "$(wc -l < "$RUN/res/$k")"
}
mem_ratio_row() { # mem_ratio_row BUILD: EchoApi's medians divided by BUILD's
    local e=g.echoapi a=g.$1
    [[ -s $RUN/res/$a ]] || return 0
    printf '| **EchoApi / %s** | **%s** | | | | **%s** | **%s** | %s | |\n' "$(display "$1")" \
        "$(ratio "$(median "$e" start_ms)" "$(median "$a" start_ms)")" "$(ratio "$(median "$e" idle_rss_kib)" "$(median "$a" idle_rss_kib)")" \
        "$(ratio "$(median "$e" conns_rss_kib)" "$(median "$a" conns_rss_kib)")" \
        "$(ratio "$(awk -v a="$(median "$e" conns_rss_kib)" -v b="$(median "$e" idle_rss_kib)" 'BEGIN { print a - b }')" \
            "$(awk -v a="$(median "$a" conns_rss_kib)" -v b="$(median "$a" idle_rss_kib)" 'BEGIN { print a - b }')")"
}
attacker_note() { # what the attacker actually got, summed over the rounds
    local key=$1.attacker
    [[ $key == *.cpu.* ]] && { echo "one core busy (a shell loop), no connections"; return; }
    local where=""
    [[ $key == *.flood-elsewhere.* ]] && where="at acceptclose, not this server: "
    [[ -s $RUN/res/$key ]] || { echo "-"; return; }
    case $key in
        *slowloris*) printf 'held %s at once (median); over all rounds: opened %s, closed by server %s, connect errors %s' \
            "$(int "$(median "$key" held_max)")" "$(total "$key" opened)" "$(total "$key" closed_by_server)" "$(total "$key" errors)" ;;
        *) printf '%s%s connects/s (median); over all rounds: opened %s, refused with the backlog full %s, other errors %s' \
            "$where" "$(int "$(median "$key" rps)")" "$(total "$key" opened)" "$(total "$key" backlog_full)" \
            "$(awk -v e="$(total "$key" errors)" -v b="$(total "$key" backlog_full)" 'BEGIN { print e - b }')" ;;
    esac
}
abuse_rows() { # abuse_rows SERVER
    local s=$1 p quiet_p99
    for p in quiet cpu slowloris flood flood-elsewhere quiet-new flood-new own-quiet own-flood own-quiet-new own-flood-new; do
        [[ -s $RUN/res/d.$s.$p ]] || continue
        local key=d.$s.$p own=""
        [[ $p == own-* ]] && own=own-
        quiet_p99=$(median "d.$s.${own}quiet" p99_us)
        [[ $p == *-new ]] && quiet_p99=$(median "d.$s.${own}quiet-new" p99_us)
        printf '| %s | %s | %s | %s | %s | **%s** | %s | %s | %s | %s |\n' "$(display "$s")" "$p" "$(int "$(median "$key" rps)")" \
            "$(int "$(median "$key" p50_us)")" "$(int "$(median "$key" p99_us)")" \
            "$(ratio "$(median "$key" p99_us)" "$quiet_p99")" "$(total "$key" bad)" "$(total "$key" errors)" \
            "$(attacker_note "$key")" "${RSS[d.$s]:-?}"
    done
}

{
    if ((QUICK)); then echo "# EchoApi benchmark ($BUILD) — QUICK smoke run (not for quoting)"; else echo "# EchoApi benchmark ($BUILD build)"; fi
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), kernel $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "- command: \`$INVOKED\` (from the repository root)"
    echo "- load average at start / end: $LOAD_AVG_START / $LOAD_AVG_END (the machine may be shared: compare within this run only)"
    echo "- dotnet --version: $(dotnet --version 2>/dev/null || echo none); $(go version 2>/dev/null || echo 'no go')"
    echo "- EchoApi: $ECHOAPI_DESC, git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$([[ -z $(git status --porcelain -- src 2>/dev/null) ]] || echo ' + uncommitted changes in src/')"
    echo "- baseline: $BASELINE_DESC$([[ -z $(git status --porcelain -- bench/baseline 2>/dev/null) ]] || echo ' + uncommitted changes')"
    echo "- rounds: $ROUNDS × ${SECONDS_PER_ROUND} s per server and scenario, servers alternating, after a ${WARMUP} s warm-up each; f: $STREAM_POSTS posts per server and round; g: $START_RUNS starts per build; run took ${ELAPSED} s"
    if [[ -n $GO_NOTE ]]; then echo "- **$GO_NOTE**"; fi
    if [[ -n $ATTACK_NOTE ]]; then echo "- **$ATTACK_NOTE**"; fi
    echo
    echo "## Summary (medians)"
    echo
    echo "The baseline is \`bench/baseline\`, the least Kestrel needs for the same job: EchoApi / baseline is what"
    echo "EchoApi's gate, authentication and authorization cost together. The Go anchor is go-http (c: go-seed)."
    echo "Above 1 is better for rates, below 1 for memory and time."
    echo
    echo "| scenario | EchoApi ($BUILD) | baseline ($BUILD) | Go anchor | EchoApi / baseline | EchoApi / Go |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    summary_row "a. keep-alive POST /echo 16 B, c=16 (req/s)" rps 0 1 a.echoapi a.baseline a.go-http
    summary_row "b. new connection per request, c=16 (req/s)" rps 0 1 b.echoapi b.baseline b.go-http
    summary_row "c. line echo 16 B, c=16 (lines/s)" rps 0 1 c.echoapi c.baseline c.go-seed
    summary_row "e. WebSocket line echo 16 B, c=16 (messages/s)" rps 0 1 e.echoapi e.baseline e.go-http
    summary_row "f. $((STREAM_BYTES >> 20)) MiB POST /echo (MB/s)" mbps 0 1 f.echoapi f.baseline f.go-http
    summary_row "g. idle RSS (MiB)" idle_rss_kib 1 1024 g.echoapi g.baseline g.go-http
    summary_row "g. RSS with $IDLE_CONNS idle keep-alive connections (MiB)" conns_rss_kib 1 1024 g.echoapi g.baseline g.go-http
    summary_row "g. exec to the first GET /healthz answer (ms)" start_ms 1 1 g.echoapi g.baseline g.go-http
    echo
    echo "## Throughput and latency (medians of the rounds)"
    echo
    echo "Closed loop: each connection sends its next request when the last answer is in. Every answer"
    echo "is checked (200 and the exact bytes back; a line as \`> line\`; a WebSocket message as one text frame"
    echo "\`> line\`); \`bad\` and \`errors\` are summed over the rounds. req/s is lines/s in c, messages/s in e."
    echo
    echo "| scenario | server | req/s | p50 µs | p99 µs | p99.9 µs | bad | errors | peak RSS MiB |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    row a echoapi "a. POST /echo 16 B, keep-alive, c=16"
    row a baseline ""
    if ((GO_OK)); then row a go-http ""; fi
    ratio_row a baseline; ratio_row a go-http
    row b echoapi "b. POST /echo 16 B, new connection per request, c=16"
    row b baseline ""
    if ((GO_OK)); then row b go-http ""; fi
    ratio_row b baseline; ratio_row b go-http
    row c echoapi "c. line echo 16 B, c=16"
    if ((GO_OK)); then row c go-seed ""; ratio_row c go-seed; fi
    row e echoapi "e. GET /echo/ws, one 16 B line per text message, c=16"
    row e baseline ""
    if ((GO_OK)); then row e go-http ""; fi
    ratio_row e baseline; ratio_row e go-http
    echo
    echo "Ratios are EchoApi / other: above 1 is better for req/s, below 1 is better for latency and memory."
    echo
    echo "## f. One $((STREAM_BYTES >> 20)) MiB POST /echo (curl, answer discarded)"
    echo
    echo "MB/s is 10^6 bytes of the body per second of the whole exchange (upload and echo overlap); $STREAM_POSTS posts"
    echo "per server and round, alternating. Each answer must be 200 with all $STREAM_BYTES bytes; the warm-up post's"
    echo "answer is also compared by SHA-256 (\`hash ok\`). EchoApi runs with \`${ECHOAPI_STREAM[*]}\`."
    echo
    echo "| server | MB/s | min | max | seconds | bad | hash ok | peak RSS MiB |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |"
    stream_row echoapi; stream_row baseline; stream_row go-http
    stream_ratio_row baseline; stream_ratio_row go-http
    echo
    echo "## g. Start and memory"
    echo
    echo "bench/loadgen/startmem: exec, then connect + \`GET /healthz\` every 0.1 ms until the first answer (go-http"
    echo "has no /healthz: its first answer is a 404); 1 s later the idle RSS (VmRSS); then $IDLE_CONNS connections, one"
    echo "checked keep-alive \`POST /echo\` each, all held open, and 1 s later the RSS again. Medians of $START_RUNS starts"
    echo "per build, builds alternating. EchoApi runs with \`${ECHOAPI_MANY_CONNS[*]}\` (one uid holds them all)."
    echo
    echo "| build | start ms | min | max | first answer | idle RSS MiB | RSS with $IDLE_CONNS conns MiB | KiB per conn | starts |"
    echo "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"
    for b in "${MEM_BUILDS[@]}"; do mem_row "$b"; done
    mem_ratio_row baseline; mem_ratio_row go-http
    echo
    echo "## d. The owner under abuse (owner: root, POST /echo 16 B, c=4; attacker: uid $ATTACK_UID)"
    echo
    echo "cpu: the attacker only keeps one core busy, never touching the socket: what sharing the machine costs by itself."
    echo "slowloris: $SLOWLORIS_CONNS connections each sending one byte of a never-ending request head per second."
    echo "flood: 16 connections opened and closed as fast as possible. The attacker starts 1 s before the owner's run."
    echo "flood-elsewhere: the same flood aimed at another socket, served by bench/loadgen/acceptclose (C, accepts and closes):"
    echo "what a flood costs the owner when the server under test spends nothing on it."
    echo "quiet-new, flood-new: the same, but the owner opens a new connection for every request (-k 0), as curl does;"
    echo "their p99 / quiet is against quiet-new. The owner's errors there are its connects refused by a full listen queue."
    echo "own-*: EchoApi only: the owner on its own socket (EchoApi:OwnerSocketPath, mode 0600), the attacker flooding the"
    echo "shared one; p99 / quiet is against own-quiet (own-quiet-new)."
    echo
    echo "| server | phase | owner req/s | p50 µs | p99 µs | p99 / quiet | bad | errors | what the attacker got | peak RSS MiB |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"
    abuse_rows echoapi
    if ((GO_OK)); then abuse_rows go-http; fi
    echo
    echo "Peak RSS is VmHWM of the server process at the end of the scenario (each scenario starts fresh servers)."
    echo
    echo "## Exact commands"
    echo
    echo "Run from the repository root; \`$RUN\` was this run's temporary directory (mode 0755)."
    echo
    echo '```'
    cat "$RUN/commands.txt"
    echo '```'
    echo
    echo "## Every round (raw echoload output)"
    echo
    echo '```'
    for f in "$RUN"/res/*; do printf '%s\n' "${f##*/}"; sed 's/^/  /' "$f"; done
    echo '```'
} > "$RESULTS"

cat "$RESULTS"
log "== written to ${RESULTS#"$ROOT"/}"
