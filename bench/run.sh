#!/usr/bin/env bash
# bench/run.sh — EchoApi against the Go anchors, on this machine, in one run.
#
#   bash bench/run.sh            # full run: ROUNDS=3 rounds of SECONDS_PER_ROUND=5 s per server
#   bash bench/run.sh --quick    # smoke run (1 round of 2 s), written to bench/results-quick.md
#
# Environment: ROUNDS, SECONDS_PER_ROUND, ECHOAPI_BIN (another EchoApi executable, e.g. a native
# AOT build, instead of `dotnet src/EchoApi/bin/Release/net10.0/EchoApi.dll`), ANCHORS_DIR
# (default ../shared/anchors), RESULTS (where the Markdown goes).
#
# Every round of every scenario alternates the two servers (A, B, A, B, ...) so that the noise
# of a shared machine hits both alike; the table quotes medians of the rounds and the ratio
# EchoApi / anchor. Every server and attacker started here is stopped on exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

QUICK=0
for arg in "$@"; do
    case $arg in
        --quick) QUICK=1 ;;
        -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "run.sh: unknown argument '$arg' (try --quick)" >&2; exit 2 ;;
    esac
done
if ((QUICK)); then
    ROUNDS=${ROUNDS:-1}; SECONDS_PER_ROUND=${SECONDS_PER_ROUND:-2}; WARMUP=1
    RESULTS=${RESULTS:-$ROOT/bench/results-quick.md} # a smoke run must not replace the quoted numbers
else
    ROUNDS=${ROUNDS:-3}; SECONDS_PER_ROUND=${SECONDS_PER_ROUND:-5}; WARMUP=2
    RESULTS=${RESULTS:-$ROOT/bench/results.md}
fi
# Bounds: the whole default run must stay well under 10 minutes.
if ! [[ $ROUNDS =~ ^[0-9]+$ ]] || ((ROUNDS < 1 || ROUNDS > 20)); then echo "run.sh: ROUNDS must be 1..20" >&2; exit 2; fi
if ! [[ $SECONDS_PER_ROUND =~ ^[0-9]+$ ]] || ((SECONDS_PER_ROUND < 1 || SECONDS_PER_ROUND > 60)); then
    echo "run.sh: SECONDS_PER_ROUND must be 1..60 (whole seconds)" >&2; exit 2
fi
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
ATTACK_LOAD=$ROOT/$LOAD
if ((EUID == 0)) && ! setpriv --reuid=$ATTACK_UID --regid=$ATTACK_UID --clear-groups test -x "$ATTACK_LOAD" 2>/dev/null; then
    # The checkout is not reachable by the attacker's uid: give it a copy it can run.
    cp "$ATTACK_LOAD" "$RUN/echoload" && chmod 0755 "$RUN/echoload" && ATTACK_LOAD=$RUN/echoload
fi

if [[ -n ${ECHOAPI_BIN:-} ]]; then
    [[ -x $ECHOAPI_BIN ]] || { log "run.sh: ECHOAPI_BIN=$ECHOAPI_BIN is not executable"; exit 1; }
    ECHOAPI_CMD=("$ECHOAPI_BIN")
    ECHOAPI_DESC="ECHOAPI_BIN=$ECHOAPI_BIN"
else
    log "== building EchoApi (Release)"
    note_cmd "dotnet build -c Release src/EchoApi"
    if ! dotnet build -c Release src/EchoApi > "$RUN/dotnet-build.log" 2>&1; then
        tail -30 "$RUN/dotnet-build.log" >&2; exit 1
    fi
    ECHOAPI_CMD=(dotnet src/EchoApi/bin/Release/net10.0/EchoApi.dll)
    ECHOAPI_DESC="dotnet src/EchoApi/bin/Release/net10.0/EchoApi.dll (Release build of the working tree)"
fi

GO_OK=0
GO_NOTE=""
if [[ ! -d $ANCHORS_DIR/go-http || ! -d $ANCHORS_DIR/go-seed ]]; then
    GO_NOTE="Go anchors not found in $ANCHORS_DIR: the anchor rows are skipped."
else
    if ! command -v go > /dev/null || [[ ! -d /usr/share/gocode/src/golang.org/x/sys ]]; then
        if ((EUID == 0)); then
            log "== installing Go (Debian's golang-go and golang-golang-x-sys-dev)"
            note_cmd "apt-get install -y golang-go golang-golang-x-sys-dev"
            { apt-get install -y golang-go golang-golang-x-sys-dev || { apt-get update && apt-get install -y golang-go golang-golang-x-sys-dev; }; } \
                > "$RUN/apt.log" 2>&1 || log "run.sh: installing Go failed (see $RUN/apt.log)"
        fi
    fi
    if command -v go > /dev/null && [[ -d /usr/share/gocode/src/golang.org/x/sys ]]; then
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

start_echoapi() {
    # echo.sock is open to every uid (the attacker's too); owner.sock (mode 0600) to the owner alone.
    start_server echoapi "$RUN/echo.sock" http "${ECHOAPI_CMD[@]}" --socket "$RUN/echo.sock" --EchoApi:SocketMode=0666 \
        --EchoApi:OwnerSocketPath="$RUN/owner.sock"
    ECHO_PID=$SERVER_PID
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

# ---------------------------------------------------------------- scenarios a, b, c
declare -A RSS
# pair SCENARIO ANCHOR MODE ARGS...: EchoApi against ANCHOR, alternating, ROUNDS rounds each.
pair() {
    local sc=$1 anchor=$2 mode=$3; shift 3
    local echo_sock=$RUN/echo.sock anchor_sock=$RUN/$anchor.sock
    [[ $mode == line ]] && echo_sock=$RUN/line.sock
    log "== scenario $sc: $mode $* (EchoApi vs $anchor)"
    start_echoapi
    local servers=("echoapi:$echo_sock")
    if ((GO_OK)); then
        start_anchor "$anchor" "$anchor_sock" "$mode"
        servers+=("$anchor:$anchor_sock")
    fi
    local s r
    for s in "${servers[@]}"; do warm "${s#*:}" "$mode" "$@"; done
    for ((r = 1; r <= ROUNDS; r++)); do
        for s in "${servers[@]}"; do measure "$sc.${s%%:*}" "${s#*:}" "$mode" "$@"; done
    done
    RSS[$sc.echoapi]=$(peak_rss_mib "$ECHO_PID")
    stop_server "$ECHO_PID"
    if ((GO_OK)); then RSS[$sc.$anchor]=$(peak_rss_mib "$ANCHOR_PID"); stop_server "$ANCHOR_PID"; fi
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
pair a go-http http -c 16 -b 16
pair b go-http http -c 16 -b 16 -k 0
pair c go-seed line -c 16 -b 16
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
display() { if [[ $1 == echoapi ]]; then echo EchoApi; else echo "$1"; fi; }
ratio_row() { # ratio_row SCENARIO ANCHOR
    local e=$1.echoapi a=$1.$2
    local bad=$(($(total "$e" bad) + $(total "$a" bad)))
    if ((bad > 0)); then # wrong answers make the speed numbers meaningless: no ratio to quote
        printf '| | **EchoApi / %s** | **no ratio: %s wrong answers** | | | | | | |\n' "$2" "$bad"
        return
    fi
    printf '| | **EchoApi / %s** | **%s** | %s | **%s** | %s | | | %s |\n' "$2" \
        "$(ratio "$(median "$e" rps)" "$(median "$a" rps)")" "$(ratio "$(median "$e" p50_us)" "$(median "$a" p50_us)")" \
        "$(ratio "$(median "$e" p99_us)" "$(median "$a" p99_us)")" "$(ratio "$(median "$e" p999_us)" "$(median "$a" p999_us)")" \
        "$(ratio "${RSS[$e]:-"-"}" "${RSS[$a]:-"-"}")"
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
    if ((QUICK)); then echo "# EchoApi benchmark — QUICK smoke run (not for quoting)"; else echo "# EchoApi benchmark"; fi
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), kernel $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "- load average at start / end: $LOAD_AVG_START / $LOAD_AVG_END (the machine may be shared: compare within this run only)"
    echo "- dotnet --version: $(dotnet --version 2>/dev/null || echo none); $(go version 2>/dev/null || echo 'no go')"
    echo "- EchoApi: $ECHOAPI_DESC, git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$([[ -z $(git status --porcelain -- src 2>/dev/null) ]] || echo ' + uncommitted changes in src/')"
    echo "- rounds: $ROUNDS × ${SECONDS_PER_ROUND} s per server and scenario, servers alternating, after a ${WARMUP} s warm-up each; run took ${ELAPSED} s"
    if [[ -n $GO_NOTE ]]; then echo "- **$GO_NOTE**"; fi
    if [[ -n $ATTACK_NOTE ]]; then echo "- **$ATTACK_NOTE**"; fi
    echo
    echo "## Throughput and latency (medians of the rounds)"
    echo
    echo "Closed loop: each connection sends its next request when the last answer is in. Every answer"
    echo "is checked (200 and the exact bytes back); \`bad\` and \`errors\` are summed over the rounds."
    echo
    echo "| scenario | server | req/s | p50 µs | p99 µs | p99.9 µs | bad | errors | peak RSS MiB |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    row a echoapi "a. POST /echo 16 B, keep-alive, c=16"
    if ((GO_OK)); then row a go-http ""; ratio_row a go-http; fi
    row b echoapi "b. POST /echo 16 B, new connection per request, c=16"
    if ((GO_OK)); then row b go-http ""; ratio_row b go-http; fi
    row c echoapi "c. line echo 16 B, c=16"
    if ((GO_OK)); then row c go-seed ""; ratio_row c go-seed; fi
    echo
    echo "Ratios are EchoApi / anchor: above 1 is better for req/s, below 1 is better for latency and memory."
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
