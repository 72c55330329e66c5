/* startmem: how fast a server starts and how much memory it holds, idle and with many idle connections.
 *
 *   startmem SOCK [-c CONNS] [-s SETTLE_MS] [-t TIMEOUT_S] [-l LOG] [-u PATH]... -- CMD [ARG...]
 *
 * One measurement per run, printed as one JSON line:
 *   1. Removes SOCK (and each -u PATH: other sockets the server makes), so every start is a fresh one.
 *   2. Notes the time, forks and execs CMD (stdout and stderr to LOG, default /dev/null).
 *   3. Every 0.1 ms tries to connect to SOCK; once connected, sends `GET /healthz` and waits for the
 *      answer's head. start_ms is exec to that answer (any status: it is the first HTTP answer; the
 *      status is printed too).
 *   4. Waits SETTLE_MS (default 1000), reads VmRSS: idle_rss_kib.
 *   5. Opens CONNS connections (default 1000) one after another and does one keep-alive
 *      `POST /echo` (16 bytes, checked) on each, keeps them all open, waits SETTLE_MS, reads VmRSS:
 *      conns_rss_kib. `held` is how many got their 200 and were still open when RSS was read.
 *   6. Closes them, stops the server (SIGTERM; SIGKILL after 10 s), exits 0 if all went well.
 *
 * Everything is bounded: the start by -t seconds (default 30), each request by 10 s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_un addr;
static socklen_t addrlen;
static pid_t child;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void sleep_ms(long ms) {
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) < 0 && errno == EINTR) {}
}

static void stop_child(void) {
    if (child <= 0) return;
    kill(child, SIGTERM);
    for (int i = 0; i < 1000; i++) { /* 10 s */
        if (waitpid(child, NULL, WNOHANG) == child) { child = 0; return; }
        sleep_ms(10);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    child = 0;
}

static void fail(const char *what) {
    fprintf(stderr, "startmem: %s\n", what);
    stop_child();
    exit(1);
}

static long rss_kib(void) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)child);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &v) == 1) break;
    fclose(f);
    return v;
}

/* Reads one HTTP answer from fd (blocking, 10 s receive timeout): the head, then Content-Length bytes
 * of body if want_body. Returns the status (0 when broken); the body is compared with `expect`. */
static int read_answer(int fd, int want_body, const char *expect, size_t expectlen) {
    char buf[8192];
    size_t n = 0;
    for (;;) {
        if (n == sizeof buf) return 0;
        ssize_t r = recv(fd, buf + n, sizeof buf - n, 0);
        if (r <= 0) return 0;
        n += (size_t)r;
        char *he = memmem(buf, n, "\r\n\r\n", 4);
        if (!he) continue;
        if (n < 12 || memcmp(buf, "HTTP/1.", 7) != 0) return 0;
        int status = atoi(buf + 9);
        if (!want_body) return status;
        size_t hl = (size_t)(he - buf) + 4;
        char *cl = strcasestr(buf, "\r\ncontent-length:");
        if (!cl || cl > he) return 0;
        size_t len = strtoull(cl + 17, NULL, 10);
        while (n < hl + len) {
            if (n == sizeof buf) return 0;
            r = recv(fd, buf + n, sizeof buf - n, 0);
            if (r <= 0) return 0;
            n += (size_t)r;
        }
        if (n != hl + len || len != expectlen || memcmp(buf + hl, expect, len) != 0) return 0;
        return status;
    }
}

static int connect_blocking(void) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket() failed");
    if (connect(fd, (struct sockaddr *)&addr, addrlen) < 0) { close(fd); return -1; }
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static int send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Interrupted (Ctrl-C, or run.sh stopping): the server goes too. */
static void on_signal(int sig) {
    if (child > 0) kill(child, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void usage(void) {
    fprintf(stderr, "usage: startmem SOCK [-c CONNS] [-s SETTLE_MS] [-t TIMEOUT_S] [-l LOG] [-u PATH]... -- CMD [ARG...]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int conns = 1000, timeout_s = 30;
    long settle_ms = 1000;
    const char *log = "/dev/null";
    const char *unlinks[16];
    int nunlink = 0;
    if (argc < 2) usage();
    const char *sock = argv[1];
    optind = 2;
    int opt;
    while ((opt = getopt(argc, argv, "+c:s:t:l:u:")) != -1) {
        switch (opt) {
        case 'c': conns = atoi(optarg); break;
        case 's': settle_ms = atol(optarg); break;
        case 't': timeout_s = atoi(optarg); break;
        case 'l': log = optarg; break;
        case 'u': if (nunlink == 16) usage(); unlinks[nunlink++] = optarg; break;
        default: usage();
        }
    }
    if (optind >= argc || conns < 0 || conns > 20000 || settle_ms < 0 || settle_ms > 60000 || timeout_s < 1 || timeout_s > 300)
        usage();
    size_t sl = strlen(sock);
    if (sl >= sizeof addr.sun_path) fail("socket path too long");
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, sock, sl);
    addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sl + 1);

    /* 1000 connections need more descriptors than the usual soft limit, here and in the server. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);

    unlink(sock);
    for (int i = 0; i < nunlink; i++) unlink(unlinks[i]);

    uint64_t t0 = now_ns();
    child = fork();
    if (child < 0) fail("fork() failed");
    if (child == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); }
        signal(SIGPIPE, SIG_DFL); /* an ignored signal would stay ignored across exec */
        execvp(argv[optind], argv + optind);
        perror("startmem: exec");
        _exit(127);
    }

    /* Start: connect + GET /healthz until the first answer. */
    static const char health[] = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    int status = 0;
    uint64_t deadline = t0 + (uint64_t)timeout_s * 1000000000ull, t1 = 0;
    while (!status) {
        if (waitpid(child, NULL, WNOHANG) == child) { child = 0; fail("the server exited while starting (see its log)"); }
        if (now_ns() > deadline) fail("no answer to GET /healthz before the timeout");
        int fd = connect_blocking();
        if (fd < 0) {
            struct timespec t = {.tv_nsec = 100000};
            nanosleep(&t, NULL);
            continue;
        }
        if (send_all(fd, health, sizeof health - 1) == 0) status = read_answer(fd, 0, NULL, 0);
        t1 = now_ns();
        close(fd);
    }
    double start_ms = (double)(t1 - t0) / 1e6;

    sleep_ms(settle_ms);
    long idle = rss_kib();

    /* Idle keep-alive connections, each having done one checked echo. */
    int *fds = malloc(sizeof(int) * (size_t)(conns ? conns : 1));
    int held = 0;
    char req[256], body[17];
    for (int i = 0; i < conns; i++) {
        fds[i] = connect_blocking();
        if (fds[i] < 0) continue;
        snprintf(body, sizeof body, "conn%012d", i); /* 16 bytes, different on every connection */
        int n = snprintf(req, sizeof req,
                         "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n"
                         "Content-Length: 16\r\n\r\n%s", body);
        if (send_all(fds[i], req, (size_t)n) < 0 || read_answer(fds[i], 1, body, 16) != 200) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
    sleep_ms(settle_ms);
    /* Still open? A server that closed one has sent EOF: it would be readable now. */
    for (int i = 0; i < conns; i++) {
        if (fds[i] < 0) continue;
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        if (poll(&p, 1, 0) == 0) held++;
    }
    long busy = rss_kib();
    for (int i = 0; i < conns; i++)
        if (fds[i] >= 0) close(fds[i]);
    stop_child();

    printf("{\"start_ms\":%.1f,\"status\":%d,\"idle_rss_kib\":%ld,\"conns\":%d,\"held\":%d,\"conns_rss_kib\":%ld}\n",
           start_ms, status, idle, conns, held, busy);
    return held == conns && idle > 0 && busy > 0 ? 0 : 1;
}
