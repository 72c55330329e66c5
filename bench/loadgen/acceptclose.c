/* acceptclose: the cheapest server there is, for bench/run.sh's "flood-elsewhere" phase.
 * Listens on a Unix socket (mode 0666, backlog 512) and closes every connection it accepts,
 * one thread, at normal priority. Flooding it instead of the server under test shows what a
 * connect flood costs the owner when no server of ours spends anything on it.
 *
 *   acceptclose SOCK          (runs until killed)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: acceptclose SOCK\n"); return 2; }
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof a.sun_path) { fprintf(stderr, "acceptclose: path too long\n"); return 2; }
    strcpy(a.sun_path, argv[1]);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || chmod(argv[1], 0666) != 0 || listen(s, 512) != 0) {
        fprintf(stderr, "acceptclose: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    for (;;) {
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0) close(c);
        else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) usleep(1000);
    }
}
