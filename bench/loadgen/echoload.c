/* echoload: a small closed-loop load generator for EchoApi over a Unix domain socket.
 *
 *   echoload http      SOCK [-c CONNS] [-d SECS] [-b BYTES] [-k 0|1] [-m POST|GET] [-p PATH] [-n MAXREQ]
 *   echoload line      SOCK [-c CONNS] [-d SECS] [-b BYTES] [-k 0|1] [-n MAXREQ]
 *   echoload ws        SOCK [-c CONNS] [-d SECS] [-b BYTES] [-k 0|1] [-p PATH] [-n MAXMSG]
 *   echoload slowloris SOCK [-c CONNS] [-d SECS]
 *   echoload flood     SOCK [-c CONNS] [-d SECS] [-r] [-n MAXREQ]
 *
 * SOCK is a filesystem path, or @name for an abstract socket.
 *
 * One thread, one epoll set, CONNS connections with at most one request in flight each
 * ("closed loop": a connection sends its next request only after the answer to the last one,
 * so the measured rate is what the server sustains, not what we push at it). Every answer is
 * checked: HTTP must be 200 with exactly the body we sent, a line must come back as "> line".
 * ws upgrades each connection (GET PATH, default /echo/ws; 101 with the right Sec-WebSocket-Accept),
 * then sends one masked text frame holding a BYTES-byte line and its "\n", and wants back exactly one
 * unmasked text frame "> line" (no newline: the WebSocket echo sends each line as its own message).
 * Pings are answered with pongs, pongs are skipped; a close frame ends the connection (an error).
 * Whatever is wrong counts as `bad`; a connection that fails counts as `errors`.
 *
 * Attack modes also report `opened` (connects that succeeded), `closed_by_server`, and
 * `backlog_full` (connects refused with EAGAIN because the listen queue was full; they are
 * counted in `errors` too); slowloris adds `held_max`/`held_end`, its connections open at once.
 *
 * Every loop is bounded: by -d seconds (at most 3600) and by -n completed operations.
 * Output: exactly one JSON line on stdout. Latencies come from CLOCK_MONOTONIC and go into a
 * log-linear histogram (relative error under 1%), so memory does not grow with the run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum mode { M_HTTP, M_LINE, M_SLOWLORIS, M_FLOOD, M_WS };
enum state { S_IDLE, S_CONNECTING, S_BUSY, S_SLOW };

typedef struct {
    int fd;             /* -1 while closed */
    enum state state;
    uint64_t t0;        /* start of the operation being timed, ns */
    uint64_t retry_at;  /* S_IDLE: do not reconnect before this time (ns) */
    unsigned served;    /* operations completed on this connection */
    int want_out;       /* EPOLLOUT currently requested */
    char *req; size_t reqlen;             /* the request (ws: the frame, re-masked for each message) */
    const char *out; size_t outlen, woff; /* what is being written (the request, or the ws upgrade), how far */
    int upgraded;       /* ws: the 101 is in; frames from here on */
    char *expect; size_t expectlen;       /* HTTP: the exact body expected; line: the exact reply */
    char *rbuf; size_t rlen, rcap;        /* what the server sent so far */
    uint64_t slow_off;  /* slowloris: bytes of the never-ending header sent so far */
} conn_t;

/* ---- options and counters ---- */
static enum mode mode;
static const char *sock_arg;
static int nconn = 16, keepalive = 1, flood_request;
static double secs = 5;
static size_t bodylen = 16;
static const char *method = "POST", *path = NULL; /* NULL: /echo, or /echo/ws for ws */
static uint64_t max_ops = 1000000000ull;

static uint64_t ops, bad, errors, non200, opened, closed_by_server, backlog_full, upgrades, pings;
static int held, held_max;
static volatile sig_atomic_t stop;
static int ep;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* ---- latency histogram: exact below 256 ns, then 128 buckets per power of two ---- */
#define SUB_BITS 7
#define SUB (1u << SUB_BITS)
#define NBUCKETS (64 * SUB)
static uint64_t hist[NBUCKETS], hist_n, hist_max;

static unsigned bucket_of(uint64_t v) {
    if (v < 2 * SUB) return (unsigned)v;
    unsigned e = (unsigned)(63 - __builtin_clzll(v)) - SUB_BITS; /* >= 1 */
    return e * SUB + (unsigned)(v >> e);
}
static double bucket_mid(unsigned i) {
    if (i < 2 * SUB) return i;
    unsigned e = i / SUB - 1;
    uint64_t lo = (uint64_t)(i - e * SUB) << e;
    return (double)lo + (double)((1ull << e) / 2);
}
static void record(uint64_t ns) {
    hist[bucket_of(ns)]++;
    hist_n++;
    if (ns > hist_max) hist_max = ns;
}
static double percentile_us(double q) {
    if (!hist_n) return 0;
    uint64_t rank = (uint64_t)(q * (double)hist_n + 0.999999), seen = 0;
    if (rank < 1) rank = 1;
    for (unsigned i = 0; i < NBUCKETS; i++)
        if ((seen += hist[i]) >= rank) return bucket_mid(i) / 1000.0;
    return hist_max / 1000.0;
}

/* ---- sockets ---- */
static struct sockaddr_un addr;
static socklen_t addrlen;

static int set_address(const char *s) {
    size_t n = strlen(s);
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (s[0] == '@') { /* abstract: leading NUL, and the length counts only the name's bytes */
        if (n - 1 > sizeof addr.sun_path - 1) return -1;
        memcpy(addr.sun_path + 1, s + 1, n - 1);
        addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (n - 1));
    } else {
        if (n >= sizeof addr.sun_path) return -1;
        memcpy(addr.sun_path, s, n);
        addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return 0;
}

/* Registers (op = ADD) or updates (MOD) the connection's interest: reading once connected,
 * writing only while a request is stuck half-sent or a connect is pending. */
static void watch(conn_t *c, int op, int in, int out) {
    struct epoll_event ev = {.events = (in ? EPOLLIN : 0u) | (out ? EPOLLOUT : 0u), .data.ptr = c};
    if (epoll_ctl(ep, op, c->fd, &ev) < 0) { perror("epoll_ctl"); exit(1); }
    c->want_out = out;
}

/* Closes the connection; it is reopened by the main loop once retry_at has passed. */
static void drop(conn_t *c, uint64_t retry_at) {
    if (c->fd >= 0) close(c->fd); /* close() also removes it from the epoll set */
    if (c->state == S_SLOW) held--;
    c->fd = -1;
    c->state = S_IDLE;
    c->retry_at = retry_at;
    c->rlen = 0;
}

/* ---- requests ---- */
static char pattern_char(int conn, size_t i) {
    /* Each connection sends different bytes, so an answer meant for another connection is caught. */
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    return alphabet[((size_t)conn * 7 + i) % (sizeof alphabet - 1)];
}

static void build_request(conn_t *c, int idx) {
    if (mode == M_HTTP || mode == M_FLOOD) {
        int post = mode == M_HTTP && strcmp(method, "GET") != 0;
        const char *p = mode == M_FLOOD ? "/healthz" : path;
        size_t body = post ? bodylen : 0;
        char head[512];
        int hl = post
            ? snprintf(head, sizeof head,
                       "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n"
                       "Content-Length: %zu\r\n%s\r\n", p, body, keepalive ? "" : "Connection: close\r\n")
            : snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n", p,
                       keepalive && mode == M_HTTP ? "" : "Connection: close\r\n");
        if (hl < 0 || (size_t)hl >= sizeof head) { fprintf(stderr, "echoload: path too long\n"); exit(2); }
        c->reqlen = (size_t)hl + body;
        c->req = malloc(c->reqlen);
        memcpy(c->req, head, (size_t)hl);
        for (size_t i = 0; i < body; i++) c->req[hl + i] = pattern_char(idx, i);
        c->expect = post ? c->req + hl : NULL; /* GET: only the status is checked */
        c->expectlen = body;
    } else if (mode == M_LINE) {
        c->reqlen = bodylen + 1;
        c->req = malloc(c->reqlen);
        for (size_t i = 0; i < bodylen; i++) c->req[i] = pattern_char(idx, i);
        c->req[bodylen] = '\n';
        c->expectlen = bodylen + 3; /* "> " + line + "\n" */
        c->expect = malloc(c->expectlen);
        memcpy(c->expect, "> ", 2);
        memcpy(c->expect + 2, c->req, c->reqlen);
    } else if (mode == M_WS) {
        /* A masked text frame: FIN + text, the MASK bit and the length, the key, the masked line and
         * its newline. The payload stays in `expect` unmasked; ws_mask() masks it anew per message. */
        size_t payload = bodylen + 1, hdr = payload < 126 ? 2 : 4;
        c->reqlen = hdr + 4 + payload;
        c->req = malloc(c->reqlen);
        c->req[0] = (char)0x81;
        if (payload < 126) {
            c->req[1] = (char)(0x80 | payload);
        } else {
            c->req[1] = (char)(0x80 | 126);
            c->req[2] = (char)(payload >> 8);
            c->req[3] = (char)(payload & 0xff);
        }
        /* The answer: an unmasked text frame "> " + line (without the newline). */
        size_t answer = bodylen + 2, ahdr = answer < 126 ? 2 : 4;
        c->expectlen = ahdr + answer;
        c->expect = malloc(c->expectlen + payload);
        c->expect[0] = (char)0x81;
        if (answer < 126) {
            c->expect[1] = (char)answer;
        } else {
            c->expect[1] = 126;
            c->expect[2] = (char)(answer >> 8);
            c->expect[3] = (char)(answer & 0xff);
        }
        memcpy(c->expect + ahdr, "> ", 2);
        for (size_t i = 0; i < bodylen; i++) c->expect[ahdr + 2 + i] = pattern_char(idx, i);
        /* The unmasked payload is kept right behind the expected answer, for ws_mask(). */
        memcpy(c->expect + c->expectlen, c->expect + ahdr + 2, bodylen);
        c->expect[c->expectlen + bodylen] = '\n';
    }
    if (mode != M_SLOWLORIS) {
        c->rcap = c->expectlen + 4096;
        c->rbuf = malloc(c->rcap);
    }
}

/* Slowloris sends a request head that never ends: a request line, then header lines forever. */
static char slow_byte(uint64_t off) {
    static const char start[] = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n";
    static const char more[] = "X-Slow: 1\r\n";
    if (off < sizeof start - 1) return start[off];
    return more[(off - (sizeof start - 1)) % (sizeof more - 1)];
}

static void send_slow_byte(conn_t *c) {
    char b = slow_byte(c->slow_off);
    if (send(c->fd, &b, 1, MSG_NOSIGNAL) == 1) { c->slow_off++; return; }
    if (errno == EAGAIN) return; /* the server stopped reading; still held */
    closed_by_server++;
    drop(c, 0);
}

/* The WebSocket handshake; the key is RFC 6455's own example, so the accept value is known. */
static const char ws_key[] = "dGhlIHNhbXBsZSBub25jZQ==", ws_accept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
static char ws_upgrade[512];
static size_t ws_upgrade_len;

/* A client must mask every frame with a fresh key (RFC 6455 5.3); xorshift is enough for that. */
static uint32_t mask_state = 2463534242u;
static uint32_t next_mask(void) {
    mask_state ^= mask_state << 13;
    mask_state ^= mask_state >> 17;
    mask_state ^= mask_state << 5;
    return mask_state;
}
static void ws_mask(conn_t *c) {
    size_t payload = bodylen + 1, hdr = payload < 126 ? 2 : 4;
    uint32_t m = next_mask();
    unsigned char key[4] = {(unsigned char)m, (unsigned char)(m >> 8), (unsigned char)(m >> 16), (unsigned char)(m >> 24)};
    memcpy(c->req + hdr, key, 4);
    const char *plain = c->expect + c->expectlen;
    for (size_t i = 0; i < payload; i++) c->req[hdr + 4 + i] = (char)(plain[i] ^ key[i & 3]);
}

static void write_request(conn_t *c) {
    while (c->woff < c->outlen) {
        ssize_t w = send(c->fd, c->out + c->woff, c->outlen - c->woff, MSG_NOSIGNAL);
        if (w > 0) { c->woff += (size_t)w; continue; }
        if (w < 0 && errno == EAGAIN) { if (!c->want_out) watch(c, EPOLL_CTL_MOD, 1, 1); return; }
        errors++; /* reset or broken pipe while sending */
        drop(c, 0);
        return;
    }
    if (c->want_out) watch(c, EPOLL_CTL_MOD, 1, 0);
}

static void start_request(conn_t *c) {
    /* A reused connection: time the request alone. A kept WebSocket times each message alone, the
     * first too: its upgrade is not a message. */
    if (c->served > 0 || (mode == M_WS && keepalive)) c->t0 = now_ns();
    c->state = S_BUSY;
    c->out = c->req;
    c->outlen = c->reqlen;
    c->woff = 0;
    if (mode == M_WS) ws_mask(c);
    else c->rlen = 0; /* ws keeps what came after the last answer: it may be a ping */
    write_request(c);
}

/* ws: first the upgrade request; start_request() follows once the 101 is in. */
static void start_upgrade(conn_t *c) {
    c->state = S_BUSY;
    c->upgraded = 0;
    c->out = ws_upgrade;
    c->outlen = ws_upgrade_len;
    c->woff = 0;
    c->rlen = 0;
    write_request(c);
}

/* The connect succeeded. `registered` says whether the descriptor is already in the epoll set
 * (it is when the connect had to be waited for). */
static void connected(conn_t *c, int registered) {
    opened++;
    if (mode == M_FLOOD && !flood_request) {
        record(now_ns() - c->t0); /* the connect alone */
        ops++;
        drop(c, 0);
        return;
    }
    watch(c, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, 1, 0);
    if (mode == M_SLOWLORIS) {
        c->state = S_SLOW;
        c->slow_off = 0;
        if (++held > held_max) held_max = held;
        send_slow_byte(c);
    } else if (mode == M_WS) {
        start_upgrade(c);
    } else {
        start_request(c);
    }
}

static void open_conn(conn_t *c, uint64_t now) {
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) { perror("socket"); exit(1); }
    c->t0 = now_ns(); /* with -k 0 (and in flood) the connect is part of what is timed */
    c->served = 0;
    c->state = S_CONNECTING;
    if (connect(c->fd, (struct sockaddr *)&addr, addrlen) == 0) {
        connected(c, 0);
    } else if (errno == EINPROGRESS) {
        watch(c, EPOLL_CTL_ADD, 0, 1); /* wait for writability, then read SO_ERROR */
    } else {
        /* EAGAIN: the listen backlog is full; ECONNREFUSED/ENOENT/EACCES: no way in. Back off a
         * millisecond (a second for slowloris, which must not turn into a flood) and try again. */
        errors++;
        if (errno == EAGAIN) backlog_full++;
        close(c->fd);
        c->fd = -1;
        c->state = S_IDLE;
        c->retry_at = now + (mode == M_SLOWLORIS ? 1000000000ull : 1000000ull);
    }
}

/* ---- answers ---- */

/* Finds header NAME in the head [h, h+hl) and returns its value (after spaces), or NULL. */
static const char *header(const char *h, size_t hl, const char *name, size_t *vlen) {
    size_t nl = strlen(name);
    const char *end = h + hl, *line = memchr(h, '\n', hl);
    while (line && ++line < end) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) break;
        if ((size_t)(eol - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            *vlen = (size_t)(eol - v);
            if (*vlen && v[*vlen - 1] == '\r') (*vlen)--;
            return v;
        }
        line = eol;
    }
    return NULL;
}

static int contains_ci(const char *v, size_t n, const char *word) {
    size_t wl = strlen(word);
    for (size_t i = 0; i + wl <= n; i++)
        if (strncasecmp(v + i, word, wl) == 0) return 1;
    return 0;
}

/* Looks at the HTTP response at the start of c->rbuf. Returns 0 while more bytes are needed,
 * 1 when complete and correct, -1 when complete but wrong (or unparseable). Sets *server_closes
 * when the server said it will close the connection. At EOF, a response without length ends. */
static int check_http(conn_t *c, int eof, int *server_closes) {
    const char *b = c->rbuf;
    const char *he = memmem(b, c->rlen, "\r\n\r\n", 4);
    if (!he) return eof || c->rlen > 65536 ? -1 : 0;
    size_t hl = (size_t)(he - b) + 4;
    if (hl < 12 || memcmp(b, "HTTP/1.", 7) != 0) return -1;
    int status = atoi(b + 9);
    size_t vl;
    const char *v = header(b, hl, "connection", &vl);
    *server_closes = v && contains_ci(v, vl, "close");

    size_t got = 0; /* body bytes seen; compared with the expected body as we go */
    int same = 1;
    if ((v = header(b, hl, "transfer-encoding", &vl)) && contains_ci(v, vl, "chunked")) {
        size_t p = hl;
        for (;;) {
            const char *eol = memmem(b + p, c->rlen - p, "\r\n", 2);
            if (!eol) return eof ? -1 : 0;
            char *endp;
            unsigned long n = strtoul(b + p, &endp, 16);
            if (endp == b + p) return -1;
            p = (size_t)(eol - b) + 2;
            if (n == 0) { /* last chunk; no trailers expected, just the final CRLF */
                if (c->rlen - p < 2) return eof ? -1 : 0;
                if (memcmp(b + p, "\r\n", 2) != 0) return -1;
                p += 2;
                break;
            }
            if (c->rlen - p < n + 2) return eof ? -1 : 0;
            if (c->expect && (got + n > c->expectlen || memcmp(b + p, c->expect + got, n) != 0)) same = 0;
            got += n;
            p += n + 2;
        }
        if (p != c->rlen) return -1; /* bytes after the answer: nothing was asked for them */
    } else if ((v = header(b, hl, "content-length", &vl))) {
        size_t n = strtoull(v, NULL, 10);
        if (c->rlen < hl + n) return eof ? -1 : 0;
        if (c->rlen != hl + n) return -1;
        got = n;
        if (c->expect && (n != c->expectlen || memcmp(b + hl, c->expect, n) != 0)) same = 0;
    } else if (status == 204 || status == 304 || status / 100 == 1) {
        if (c->rlen != hl) return -1;
    } else { /* delimited by the close */
        if (!eof) return 0;
        got = c->rlen - hl;
        *server_closes = 1;
        if (c->expect && (got != c->expectlen || memcmp(b + hl, c->expect, got) != 0)) same = 0;
    }
    if (status != 200) { non200++; return -1; }
    if (c->expect && got != c->expectlen) same = 0;
    return same ? 1 : -1;
}

/* Line protocol: the reply is complete at its newline and must be exactly "> line\n". */
static int check_line(conn_t *c, int eof) {
    const char *nl = memchr(c->rbuf, '\n', c->rlen);
    if (!nl) return eof || c->rlen >= c->expectlen ? -1 : 0;
    size_t n = (size_t)(nl - c->rbuf) + 1;
    return n == c->rlen && n == c->expectlen && memcmp(c->rbuf, c->expect, n) == 0 ? 1 : -1;
}

/* ws, before the upgrade: 0 while the head is incomplete, the head's length when it is a 101 with the
 * right accept value, -1 otherwise. */
static long check_upgrade(conn_t *c, int eof) {
    const char *b = c->rbuf;
    const char *he = memmem(b, c->rlen, "\r\n\r\n", 4);
    if (!he) return eof || c->rlen > 65536 ? -1 : 0;
    size_t hl = (size_t)(he - b) + 4, vl;
    if (hl < 12 || memcmp(b, "HTTP/1.1 ", 9) != 0) return -1;
    if (atoi(b + 9) != 101) { non200++; return -1; }
    const char *v = header(b, hl, "sec-websocket-accept", &vl);
    if (!v || vl != sizeof ws_accept - 1 || memcmp(v, ws_accept, vl) != 0) return -1;
    if (!(v = header(b, hl, "upgrade", &vl)) || !contains_ci(v, vl, "websocket")) return -1;
    return (long)hl;
}

static void consume(conn_t *c, size_t n) {
    memmove(c->rbuf, c->rbuf + n, c->rlen - n);
    c->rlen -= n;
}

/* ws, after the upgrade: reads the frames in c->rbuf. Pings get their pong, pongs are dropped; the
 * first data frame is the answer and must be exactly c->expect. Returns 0 while the answer is not
 * complete, 1 when it is right (and consumed), -1 when it is wrong or the server closes. */
static int check_ws(conn_t *c, int eof) {
    for (;;) {
        const unsigned char *b = (const unsigned char *)c->rbuf;
        if (c->rlen < 2) return eof ? -1 : 0;
        if (b[1] & 0x80) return -1; /* a server must not mask */
        uint64_t len = b[1] & 0x7f;
        size_t hl = 2;
        if (len == 126) {
            if (c->rlen < 4) return eof ? -1 : 0;
            len = (uint64_t)b[2] << 8 | b[3];
            hl = 4;
        } else if (len == 127) {
            if (c->rlen < 10) return eof ? -1 : 0;
            len = 0;
            for (int i = 2; i < 10; i++) len = len << 8 | b[i];
            hl = 10;
        }
        if (len > (1u << 20)) return -1; /* far more than any answer here */
        if (c->rlen < hl + len) return eof ? -1 : 0;
        unsigned op = b[0] & 0x0f;
        if (op == 0x9) { /* ping: answer with a masked pong carrying the same payload, between messages */
            if (len > 125) return -1;
            char pong[2 + 4 + 125];
            uint32_t m = next_mask();
            pong[0] = (char)0x8a;
            pong[1] = (char)(0x80 | len);
            memcpy(pong + 2, &m, 4);
            for (size_t i = 0; i < len; i++) pong[6 + i] = (char)(b[hl + i] ^ pong[2 + (i & 3)]);
            /* A pong must not land inside a half-written message; the message is tiny, so this waits
             * at most for the rest of it, which is then the connection's last (it is replaced). */
            if (c->woff < c->outlen || send(c->fd, pong, 6 + len, MSG_NOSIGNAL) != (ssize_t)(6 + len)) return -1;
            pings++;
            consume(c, hl + len);
            continue;
        }
        if (op == 0xa) { consume(c, hl + len); continue; } /* unsolicited pong: a keep-alive */
        if (op == 0x8) return -1; /* the server closes */
        size_t n = hl + len;
        int ok = n == c->expectlen && memcmp(c->rbuf, c->expect, n) == 0;
        consume(c, n);
        return ok ? 1 : -1;
    }
}

static void answered(conn_t *c, int verdict, int server_closes, uint64_t now) {
    ops++;
    c->served++;
    if (verdict > 0) record(now - c->t0);
    else bad++;
    /* After a wrong answer the framing can no longer be trusted: start over on a new connection. */
    if (verdict < 0 || server_closes || !keepalive || mode == M_FLOOD) drop(c, 0);
    else start_request(c);
}

static void readable(conn_t *c, uint64_t now) {
    int eof = 0;
    for (int i = 0; i < 64; i++) { /* bounded: at most 64 reads per wakeup */
        if (mode == M_SLOWLORIS) { /* discard whatever the server says (e.g. 408) */
            char junk[4096];
            ssize_t r = recv(c->fd, junk, sizeof junk, 0);
            if (r > 0) continue;
            if (r < 0 && errno == EAGAIN) return;
            closed_by_server++;
            drop(c, 0);
            return;
        }
        if (c->rcap - c->rlen < 4096) {
            if (c->rcap > c->expectlen + (1u << 20)) { bad++; ops++; drop(c, 0); return; } /* far too long */
            c->rcap *= 2;
            c->rbuf = realloc(c->rbuf, c->rcap);
            if (!c->rbuf) { perror("realloc"); exit(1); }
        }
        ssize_t r = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (r > 0) { c->rlen += (size_t)r; continue; }
        if (r < 0 && errno == EAGAIN) break;
        eof = 1; /* orderly close, or a reset */
        break;
    }
    if (c->state != S_BUSY) { /* data or EOF on a connection that owes us nothing */
        errors++;
        drop(c, 0);
        return;
    }
    int server_closes = 0, verdict;
    if (mode == M_WS && !c->upgraded) {
        long hl = check_upgrade(c, eof);
        if (hl == 0) {
            if (eof) { errors++; drop(c, 0); } /* closed before it answered the upgrade */
            return;
        }
        if (hl < 0) { bad++; ops++; drop(c, 0); return; }
        consume(c, (size_t)hl);
        c->upgraded = 1;
        upgrades++;
        if (c->rlen) { bad++; ops++; drop(c, 0); return; } /* frames nobody asked for yet */
        if (eof) { errors++; drop(c, 0); return; }
        start_request(c);
        return;
    }
    if (mode == M_WS) verdict = check_ws(c, eof);
    else if (mode == M_LINE) verdict = check_line(c, eof);
    else verdict = check_http(c, eof, &server_closes);
    if (verdict != 0) {
        answered(c, verdict, server_closes || eof, now);
    } else if (eof) {
        if (mode == M_FLOOD) closed_by_server++;
        errors++; /* the server went away before answering */
        drop(c, 0);
    }
}

static void on_signal(int sig) { (void)sig; stop = 1; }

static void usage(void) {
    fprintf(stderr,
            "usage: echoload http|line|ws|slowloris|flood SOCK [-c CONNS] [-d SECS] [-b BYTES] [-k 0|1]\n"
            "                [-m POST|GET] [-p PATH] [-r] [-n MAXOPS]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "c:d:b:k:m:p:rn:")) != -1) {
        switch (opt) {
        case 'c': nconn = atoi(optarg); break;
        case 'd': secs = atof(optarg); break;
        case 'b': bodylen = strtoull(optarg, NULL, 10); break;
        case 'k': keepalive = atoi(optarg) != 0; break;
        case 'm': method = optarg; break;
        case 'p': path = optarg; break;
        case 'r': flood_request = 1; break;
        case 'n': max_ops = strtoull(optarg, NULL, 10); break;
        default: usage();
        }
    }
    if (argc - optind != 2) usage();
    const char *m = argv[optind];
    sock_arg = argv[optind + 1];
    if (!strcmp(m, "http")) mode = M_HTTP;
    else if (!strcmp(m, "line")) mode = M_LINE;
    else if (!strcmp(m, "slowloris")) mode = M_SLOWLORIS;
    else if (!strcmp(m, "flood")) mode = M_FLOOD;
    else if (!strcmp(m, "ws")) mode = M_WS;
    else usage();
    if (!path) path = mode == M_WS ? "/echo/ws" : "/echo";
    if (mode == M_WS) {
        if (bodylen + 2 > 65535) { fprintf(stderr, "echoload: ws needs -b <= 65533\n"); return 2; }
        int n = snprintf(ws_upgrade, sizeof ws_upgrade,
                         "GET %s HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, ws_key);
        if (n < 0 || (size_t)n >= sizeof ws_upgrade) { fprintf(stderr, "echoload: path too long\n"); return 2; }
        ws_upgrade_len = (size_t)n;
    }
    if (nconn < 1 || nconn > 20000 || !(secs > 0 && secs <= 3600) || bodylen > (64u << 20) || max_ops < 1 ||
        (strcmp(method, "GET") && strcmp(method, "POST")) || path[0] != '/') {
        fprintf(stderr, "echoload: need 1 <= -c <= 20000, 0 < -d <= 3600, -b <= 64 MiB, -m GET|POST, -p /...\n");
        return 2;
    }
    if (set_address(sock_arg) < 0) { fprintf(stderr, "echoload: socket path too long\n"); return 2; }

    /* Many connections need many descriptors: raise the soft limit as far as allowed. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) { perror("epoll_create1"); return 1; }
    conn_t *conns = calloc((size_t)nconn, sizeof *conns);
    for (int i = 0; i < nconn; i++) {
        conns[i].fd = -1;
        build_request(&conns[i], i);
    }

    uint64_t start = now_ns(), end = start + (uint64_t)(secs * 1e9), now = start;
    uint64_t next_tick = start + 1000000000ull; /* slowloris: one byte per connection per second */
    for (int i = 0; i < nconn; i++) open_conn(&conns[i], now);

    struct epoll_event evs[256];
    while (!stop && now < end && ops < max_ops) {
        /* Sleep until an event, the next slowloris tick, a back-off expiring, or the end. */
        uint64_t wake = end;
        if (mode == M_SLOWLORIS) {
            if (next_tick < wake) wake = next_tick; /* slowloris reconnects only on its tick */
        } else {
            for (int i = 0; i < nconn; i++)
                if (conns[i].state == S_IDLE && conns[i].retry_at < wake) wake = conns[i].retry_at;
        }
        int timeout = wake <= now ? 0 : (int)((wake - now + 999999) / 1000000);
        int n = epoll_wait(ep, evs, 256, timeout);
        if (n < 0 && errno != EINTR) { perror("epoll_wait"); return 1; }
        now = now_ns();
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c->fd < 0) continue;
            if (c->state == S_CONNECTING) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) { errors++; drop(c, now + 1000000ull); }
                else connected(c, 1);
                continue;
            }
            if ((evs[i].events & EPOLLOUT) && c->state == S_BUSY) write_request(c);
            if (c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) readable(c, now);
        }
        if (mode == M_SLOWLORIS && now >= next_tick) {
            next_tick += 1000000000ull;
            for (int i = 0; i < nconn; i++) {
                if (conns[i].state == S_SLOW) send_slow_byte(&conns[i]);
                else if (conns[i].state == S_IDLE) open_conn(&conns[i], now); /* reconnect, once a second */
            }
            if (held > held_max) held_max = held;
        }
        for (int i = 0; i < nconn && ops < max_ops; i++)
            if (conns[i].state == S_IDLE && conns[i].retry_at <= now && mode != M_SLOWLORIS)
                open_conn(&conns[i], now);
    }
    double elapsed = (double)(now_ns() - start) / 1e9;
    int held_end = held;
    for (int i = 0; i < nconn; i++) drop(&conns[i], 0);

    static const char *names[] = {"http", "line", "slowloris", "flood", "ws"};
    printf("{\"mode\":\"%s\",\"conns\":%d,\"secs\":%.2f,\"requests\":%llu,\"rps\":%.0f,"
           "\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
           "\"bad\":%llu,\"non200\":%llu,\"errors\":%llu",
           names[mode], nconn, elapsed, (unsigned long long)ops, (double)ops / elapsed,
           percentile_us(0.50), percentile_us(0.99), percentile_us(0.999), hist_max / 1000.0,
           (unsigned long long)bad, (unsigned long long)non200, (unsigned long long)errors);
    if (mode == M_SLOWLORIS || mode == M_FLOOD)
        printf(",\"opened\":%llu,\"closed_by_server\":%llu,\"backlog_full\":%llu", (unsigned long long)opened,
               (unsigned long long)closed_by_server, (unsigned long long)backlog_full);
    if (mode == M_SLOWLORIS) printf(",\"held_max\":%d,\"held_end\":%d", held_max, held_end);
    if (mode == M_WS) printf(",\"upgrades\":%llu,\"pings\":%llu", (unsigned long long)upgrades, (unsigned long long)pings);
    printf("}\n");
    return 0;
}
