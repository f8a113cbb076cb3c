/*
 * zeroring's Rust perf examples (examples/local_thr.rs, remote_thr.rs,
 * local_lat.rs, remote_lat.rs, inproc_thr.rs, inproc_lat.rs) written again
 * in C against zmq.h: the same sockets, the same loops and the same calls,
 * zmq_send and zmq_recv with a buffer as the Rust ones call send and
 * recv_into, the same pinning (inproc: the two threads on the first two
 * cores the process may use), the same output lines as libzmq's tools.
 * Built against zeroring's libzmq.so.5 it measures what the C ABI costs;
 * against libzmq, libzmq with the same program. capi/perf/compare.sh runs
 * it beside libzmq's own tools, which call zmq_msg_init_size, zmq_msg_send
 * and zmq_msg_close for each message (pyzmq's and czmq's way).
 *
 *   twins local_thr|remote_thr|local_lat|remote_lat <endpoint> <size> <count>
 *   twins inproc_thr|inproc_lat <size> <count>
 *
 * or, as libzmq's tools are called, by a link named after the mode (its
 * name starts with it: local_thr_twin <endpoint> <size> <count>).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static void die(const char *what) {
    fprintf(stderr, "%s: %s\n", what, zmq_strerror(zmq_errno()));
    exit(1);
}

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* The n-th core of the process's mask (read before any pinning), or -1. */
static int nth_core(int n) {
    static cpu_set_t mask;
    static int read;
    if (!read) {
        if (sched_getaffinity(0, sizeof mask, &mask) != 0)
            return -1;
        read = 1;
    }
    int count = CPU_COUNT(&mask), seen = 0;
    if (count == 0)
        return -1;
    n %= count;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &mask) && seen++ == n)
            return c;
    return -1;
}

static void pin(int core) {
    if (core < 0)
        return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(core, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
}

static void *socket_of(void *ctx, int type) {
    void *s = zmq_socket(ctx, type);
    if (!s)
        die("zmq_socket");
    return s;
}

static void recv_exact(void *s, char *buf, size_t size) {
    int n = zmq_recv(s, buf, size ? size : 1, 0);
    if (n < 0)
        die("zmq_recv");
    if ((size_t)n != size) {
        fprintf(stderr, "message of bad size: %d\n", n);
        exit(1);
    }
}

static void send_all(void *s, const char *buf, size_t size) {
    if (zmq_send(s, buf, size, 0) < 0)
        die("zmq_send");
}

/* PULL: the first message starts the clock, as libzmq's local_thr. */
static void receive(void *pull, size_t size, long count) {
    char *buf = calloc(1, size ? size : 1);
    recv_exact(pull, buf, size);
    double start = now_us();
    for (long i = 1; i < count; i++)
        recv_exact(pull, buf, size);
    double elapsed = now_us() - start;
    if (elapsed < 1)
        elapsed = 1;
    unsigned long throughput = (unsigned long)(count / elapsed * 1e6);
    printf("message size: %zu [B]\n", size);
    printf("message count: %ld\n", count);
    printf("mean throughput: %lu [msg/s]\n", throughput);
    printf("mean throughput: %.3f [Mb/s]\n", (double)throughput * size * 8 / 1e6);
    free(buf);
}

static void send_n(void *push, size_t size, long count) {
    char *buf = calloc(1, size ? size : 1);
    for (long i = 0; i < count; i++)
        send_all(push, buf, size);
    free(buf);
}

static void echo(void *rep, size_t size, long count) {
    char *buf = calloc(1, size ? size : 1);
    for (long i = 0; i < count; i++) {
        recv_exact(rep, buf, size);
        send_all(rep, buf, size);
    }
    free(buf);
}

static void ask(void *req, size_t size, long count) {
    char *msg = calloc(1, size ? size : 1), *buf = calloc(1, size ? size : 1);
    double start = now_us();
    for (long i = 0; i < count; i++) {
        send_all(req, msg, size);
        recv_exact(req, buf, size);
    }
    double latency = (now_us() - start) / (count * 2.0);
    printf("message size: %zu [B]\n", size);
    printf("roundtrip count: %ld\n", count);
    printf("average latency: %.3f [us]\n", latency);
    free(msg);
    free(buf);
}

struct job {
    void *socket;
    size_t size;
    long count;
    int core;
};

static void *sender(void *arg) {
    struct job *j = arg;
    pin(j->core);
    send_n(j->socket, j->size, j->count);
    return NULL;
}

static void *echoer(void *arg) {
    struct job *j = arg;
    pin(j->core);
    echo(j->socket, j->size, j->count);
    return NULL;
}

/* Two sockets of one context, the other end on a thread of its own. */
static void inproc(int lat, size_t size, long count) {
    void *ctx = zmq_ctx_new();
    void *local = socket_of(ctx, lat ? ZMQ_REQ : ZMQ_PULL);
    void *remote = socket_of(ctx, lat ? ZMQ_REP : ZMQ_PUSH);
    if (zmq_bind(local, "inproc://twins") != 0)
        die("zmq_bind");
    if (zmq_connect(remote, "inproc://twins") != 0)
        die("zmq_connect");
    int cores[2] = {nth_core(0), nth_core(1)};
    pin(cores[0]);
    struct job j = {remote, size, count, cores[1]};
    pthread_t t;
    if (pthread_create(&t, NULL, lat ? echoer : sender, &j) != 0) {
        perror("pthread_create");
        exit(1);
    }
    if (lat)
        ask(local, size, count);
    else
        receive(local, size, count);
    pthread_join(t, NULL);
    zmq_close(local);
    zmq_close(remote);
    zmq_ctx_term(ctx);
}

static const char *const modes[] = {"local_thr", "remote_thr", "local_lat",
                                    "remote_lat", "inproc_thr", "inproc_lat"};

int main(int argc, char **argv) {
    /* Called by a link named after a mode: the mode goes in front. */
    const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    char *named[6];
    for (size_t m = 0; m < sizeof modes / sizeof modes[0] && argc <= 4; m++) {
        if (!strncmp(base, modes[m], strlen(modes[m]))) {
            named[0] = argv[0];
            named[1] = (char *)modes[m];
            for (int a = 1; a < argc; a++)
                named[a + 1] = argv[a];
            argv = named;
            argc++;
            break;
        }
    }
    const char *mode = argc > 1 ? argv[1] : "";
    if (argc == 4 && (!strcmp(mode, "inproc_thr") || !strcmp(mode, "inproc_lat"))) {
        inproc(!strcmp(mode, "inproc_lat"), (size_t)atol(argv[2]), atol(argv[3]));
        return 0;
    }
    static const struct {
        const char *mode;
        int type, binds;
    } roles[] = {
        {"local_thr", ZMQ_PULL, 1},
        {"remote_thr", ZMQ_PUSH, 0},
        {"local_lat", ZMQ_REP, 1},
        {"remote_lat", ZMQ_REQ, 0},
    };
    for (size_t r = 0; argc == 5 && r < sizeof roles / sizeof roles[0]; r++) {
        if (strcmp(mode, roles[r].mode))
            continue;
        size_t size = (size_t)atol(argv[3]);
        long count = atol(argv[4]);
        void *ctx = zmq_ctx_new();
        void *s = socket_of(ctx, roles[r].type);
        if ((roles[r].binds ? zmq_bind(s, argv[2]) : zmq_connect(s, argv[2])) != 0)
            die(roles[r].binds ? "zmq_bind" : "zmq_connect");
        switch (roles[r].type) {
        case ZMQ_PULL: receive(s, size, count); break;
        case ZMQ_PUSH: send_n(s, size, count); break;
        case ZMQ_REP: echo(s, size, count); break;
        default: ask(s, size, count); break;
        }
        zmq_close(s); /* lingers until the messages are out, as libzmq's */
        zmq_ctx_term(ctx);
        return 0;
    }
    fprintf(stderr,
            "usage: twins local_thr|remote_thr|local_lat|remote_lat <endpoint> <size> <count>\n"
            "       twins inproc_thr|inproc_lat <size> <count>\n");
    return 1;
}
