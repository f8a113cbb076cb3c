/* A smoke test of zeroring's libzmq.so.5 through its C ABI: REQ/REP over
 * inproc and tcp, messages (zero-copy data and its free function, copies,
 * properties), poll over sockets and a descriptor, errno as libzmq sets it,
 * and zmq_ctx_term ending a blocked call with ETERM. Exits 0 on success;
 * every failed check prints its line and exits 1. */
#include <zmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf (stderr, "%s:%d: check failed: %s (errno %d: %s)\n",      \
                     __FILE__, __LINE__, #cond, zmq_errno (),                 \
                     zmq_strerror (zmq_errno ()));                            \
            exit (1);                                                         \
        }                                                                     \
    } while (0)

#define FAILS_WITH(call, err)                                                 \
    do {                                                                      \
        errno = 0;                                                            \
        CHECK ((call) == -1);                                                 \
        CHECK (zmq_errno () == (err));                                        \
        CHECK (errno == (err));                                               \
    } while (0)

static void set_int (void *s, int option, int value)
{
    CHECK (zmq_setsockopt (s, option, &value, sizeof value) == 0);
}

static void req_rep (void *ctx, const char *bind_to)
{
    void *rep = zmq_socket (ctx, ZMQ_REP);
    void *req = zmq_socket (ctx, ZMQ_REQ);
    CHECK (rep && req);
    set_int (rep, ZMQ_RCVTIMEO, 10000);
    set_int (req, ZMQ_RCVTIMEO, 10000);
    CHECK (zmq_bind (rep, bind_to) == 0);
    char endpoint[256];
    size_t len = sizeof endpoint;
    CHECK (zmq_getsockopt (rep, ZMQ_LAST_ENDPOINT, endpoint, &len) == 0);
    CHECK (len == strlen (endpoint) + 1);
    CHECK (zmq_connect (req, endpoint) == 0);

    /* REQ must send first; REP must receive first. */
    char buf[32];
    FAILS_WITH (zmq_recv (req, buf, sizeof buf, 0), EFSM);
    FAILS_WITH (zmq_send (rep, "x", 1, 0), EFSM);
    FAILS_WITH (zmq_recv (rep, buf, sizeof buf, ZMQ_DONTWAIT), EAGAIN);

    for (int i = 0; i < 10; i++) {
        CHECK (zmq_send (req, "hello", 5, 0) == 5);
        /* A 3-byte buffer: the frame is truncated, its size returned. */
        CHECK (zmq_recv (rep, buf, 3, 0) == 5);
        CHECK (memcmp (buf, "hel", 3) == 0);
        int more = -1;
        size_t more_len = sizeof more;
        CHECK (zmq_getsockopt (rep, ZMQ_RCVMORE, &more, &more_len) == 0);
        CHECK (more == 0);
        CHECK (zmq_send (rep, "world", 5, 0) == 5);

        zmq_msg_t reply;
        CHECK (zmq_msg_init (&reply) == 0);
        CHECK (zmq_msg_recv (&reply, req, 0) == 5);
        CHECK (zmq_msg_size (&reply) == 5);
        CHECK (memcmp (zmq_msg_data (&reply), "world", 5) == 0);
        CHECK (zmq_msg_more (&reply) == 0);
        if (strncmp (bind_to, "tcp", 3) == 0) {
            const char *type = zmq_msg_gets (&reply, "Socket-Type");
            CHECK (type && strcmp (type, "REP") == 0);
            /* A copy holds the (inline) bytes and the properties on its
             * own; a move carries both. */
            zmq_msg_t copy;
            CHECK (zmq_msg_init (&copy) == 0);
            CHECK (zmq_msg_copy (&copy, &reply) == 0);
            CHECK (zmq_msg_close (&reply) == 0);
            CHECK (zmq_msg_size (&copy) == 5);
            CHECK (memcmp (zmq_msg_data (&copy), "world", 5) == 0);
            type = zmq_msg_gets (&copy, "Socket-Type");
            CHECK (type && strcmp (type, "REP") == 0);
            CHECK (zmq_msg_init (&reply) == 0);
            CHECK (zmq_msg_move (&reply, &copy) == 0);
            CHECK (zmq_msg_close (&copy) == 0);
            CHECK (memcmp (zmq_msg_data (&reply), "world", 5) == 0);
            type = zmq_msg_gets (&reply, "Socket-Type");
            CHECK (type && strcmp (type, "REP") == 0);
        } else {
            /* inproc peers give no properties. */
            errno = 0;
            CHECK (zmq_msg_gets (&reply, "Socket-Type") == NULL);
            CHECK (errno == EINVAL);
        }
        CHECK (zmq_msg_close (&reply) == 0);
    }
    CHECK (zmq_close (req) == 0);
    CHECK (zmq_close (rep) == 0);
}

static int freed = 0;
static void free_fn (void *data, void *hint)
{
    CHECK (hint == (void *) 0x1234);
    free (data);
    freed++;
}

static void messages (void *ctx)
{
    CHECK (sizeof (zmq_msg_t) == 64);
    CHECK (zmq_ctx_get (ctx, ZMQ_MSG_T_SIZE) == 64);

    void *pull = zmq_socket (ctx, ZMQ_PULL);
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    CHECK (zmq_bind (pull, "inproc://messages") == 0);
    CHECK (zmq_connect (push, "inproc://messages") == 0);

    /* Zero-copy data: the free function runs once, when the last message
     * holding the data lets go. */
    size_t size = 1000;
    char *data = malloc (size);
    memset (data, 'z', size);
    zmq_msg_t a, b;
    CHECK (zmq_msg_init_data (&a, data, size, free_fn, (void *) 0x1234) == 0);
    CHECK (zmq_msg_init (&b) == 0);
    CHECK (zmq_msg_copy (&b, &a) == 0);
    CHECK (zmq_msg_get (&a, ZMQ_SHARED) == 1);
    CHECK (zmq_msg_data (&a) == zmq_msg_data (&b));
    CHECK (zmq_msg_send (&a, push, ZMQ_SNDMORE) == (int) size);
    CHECK (zmq_msg_size (&a) == 0); /* a sent message is left empty */
    CHECK (freed == 0);
    CHECK (zmq_msg_send (&b, push, 0) == (int) size);
    CHECK (freed == 1);
    CHECK (zmq_msg_close (&a) == 0);
    CHECK (zmq_msg_close (&b) == 0);
    CHECK (freed == 1);
    /* A closed message is no message. */
    FAILS_WITH (zmq_msg_close (&a), EFAULT);

    zmq_msg_t got;
    CHECK (zmq_msg_init (&got) == 0);
    CHECK (zmq_msg_recv (&got, pull, 0) == (int) size);
    CHECK (zmq_msg_more (&got) == 1);
    CHECK (zmq_msg_get (&got, ZMQ_MORE) == 1);
    CHECK (((char *) zmq_msg_data (&got))[999] == 'z');
    CHECK (zmq_msg_recv (&got, pull, 0) == (int) size);
    CHECK (zmq_msg_more (&got) == 0);
    CHECK (zmq_msg_close (&got) == 0);

    /* A small frame received lives inside the zmq_msg_t: a copy and a
     * move carry the bytes themselves, and the two are apart. */
    CHECK (zmq_send (push, "inline", 6, 0) == 6);
    zmq_msg_t e, f, g;
    CHECK (zmq_msg_init (&e) == 0);
    CHECK (zmq_msg_init (&f) == 0);
    CHECK (zmq_msg_init (&g) == 0);
    CHECK (zmq_msg_recv (&e, pull, 0) == 6);
    CHECK (zmq_msg_copy (&f, &e) == 0);
    CHECK (zmq_msg_move (&g, &e) == 0);
    CHECK (zmq_msg_size (&e) == 0);
    CHECK (zmq_msg_close (&e) == 0);
    CHECK (zmq_msg_size (&f) == 6 && zmq_msg_size (&g) == 6);
    CHECK (zmq_msg_data (&f) != zmq_msg_data (&g));
    memset (zmq_msg_data (&f), 'x', 6);
    CHECK (memcmp (zmq_msg_data (&g), "inline", 6) == 0);
    CHECK (zmq_msg_get (&g, ZMQ_SHARED) == 0);
    CHECK (zmq_msg_close (&f) == 0);
    CHECK (zmq_msg_close (&g) == 0);
    /* A message of 49 bytes or more does not fit: received, it is
     * shared by its copy. */
    char big[100];
    memset (big, 'b', sizeof big);
    CHECK (zmq_send (push, big, sizeof big, 0) == (int) sizeof big);
    CHECK (zmq_msg_init (&e) == 0);
    CHECK (zmq_msg_init (&f) == 0);
    CHECK (zmq_msg_recv (&e, pull, 0) == (int) sizeof big);
    CHECK (zmq_msg_copy (&f, &e) == 0);
    CHECK (zmq_msg_data (&f) == zmq_msg_data (&e));
    CHECK (zmq_msg_get (&f, ZMQ_SHARED) == 1);
    CHECK (zmq_msg_close (&e) == 0);
    CHECK (memcmp (zmq_msg_data (&f), big, sizeof big) == 0);
    CHECK (zmq_msg_close (&f) == 0);

    /* init_size, move, set */
    zmq_msg_t c, d;
    CHECK (zmq_msg_init_size (&c, 5) == 0);
    memcpy (zmq_msg_data (&c), "small", 5);
    CHECK (zmq_msg_init (&d) == 0);
    CHECK (zmq_msg_move (&d, &c) == 0);
    CHECK (zmq_msg_size (&c) == 0);
    CHECK (zmq_msg_size (&d) == 5);
    CHECK (memcmp (zmq_msg_data (&d), "small", 5) == 0);
    FAILS_WITH (zmq_msg_set (&d, ZMQ_MORE, 1), EINVAL);
    CHECK (zmq_msg_close (&c) == 0);
    CHECK (zmq_msg_close (&d) == 0);

    CHECK (zmq_close (push) == 0);
    CHECK (zmq_close (pull) == 0);
}

static void polling (void *ctx)
{
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    CHECK (zmq_bind (pull, "inproc://poll") == 0);
    CHECK (zmq_connect (push, "inproc://poll") == 0);
    int fds[2];
    CHECK (pipe (fds) == 0);

    zmq_pollitem_t items[] = {{pull, 0, ZMQ_POLLIN, 0},
                              {NULL, fds[0], ZMQ_POLLIN, 0}};
    CHECK (zmq_poll (items, 2, 0) == 0);
    CHECK (zmq_send (push, "x", 1, 0) == 1);
    CHECK (zmq_poll (items, 2, 5000) == 1);
    CHECK (items[0].revents == ZMQ_POLLIN && items[1].revents == 0);
    char c;
    CHECK (zmq_recv (pull, &c, 1, 0) == 1);
    CHECK (write (fds[1], "y", 1) == 1);
    CHECK (zmq_poll (items, 2, 5000) == 1);
    CHECK (items[0].revents == 0 && items[1].revents == ZMQ_POLLIN);

    int events = 0;
    size_t len = sizeof events;
    CHECK (zmq_getsockopt (push, ZMQ_EVENTS, &events, &len) == 0);
    CHECK (events == ZMQ_POLLOUT);

    close (fds[0]);
    close (fds[1]);
    CHECK (zmq_close (push) == 0);
    CHECK (zmq_close (pull) == 0);
}

static void bad_handles (void *ctx)
{
    char buf[4];
    FAILS_WITH (zmq_send (NULL, "x", 1, 0), ENOTSOCK);
    FAILS_WITH (zmq_recv (NULL, buf, 4, 0), ENOTSOCK);
    FAILS_WITH (zmq_close (NULL), ENOTSOCK);
    /* A context is not a socket, nor a socket a context. */
    FAILS_WITH (zmq_close (ctx), ENOTSOCK);
    void *s = zmq_socket (ctx, ZMQ_PAIR);
    CHECK (s);
    CHECK (zmq_socket (s, ZMQ_PAIR) == NULL && errno == EFAULT);
    /* The per-message calls: the socket is checked first, then the
       message or buffer. */
    zmq_msg_t m;
    CHECK (zmq_msg_init_size (&m, 1) == 0);
    FAILS_WITH (zmq_msg_send (&m, NULL, 0), ENOTSOCK);
    FAILS_WITH (zmq_msg_recv (&m, NULL, ZMQ_DONTWAIT), ENOTSOCK);
    FAILS_WITH (zmq_msg_send (NULL, s, 0), EFAULT);
    FAILS_WITH (zmq_msg_recv (NULL, s, ZMQ_DONTWAIT), EFAULT);
    FAILS_WITH (zmq_msg_send (NULL, NULL, 0), ENOTSOCK);
    FAILS_WITH (zmq_send (s, NULL, 1, ZMQ_DONTWAIT), EFAULT);
    FAILS_WITH (zmq_recv (s, NULL, 1, ZMQ_DONTWAIT), EFAULT);
    CHECK (zmq_msg_close (&m) == 0);
    FAILS_WITH (zmq_msg_send (&m, s, 0), EFAULT);
    FAILS_WITH (zmq_msg_init_size (NULL, 1), EFAULT);
    CHECK (zmq_close (s) == 0);
    /* A closed socket. */
    FAILS_WITH (zmq_close (s), ENOTSOCK);
    FAILS_WITH (zmq_send (s, "x", 1, 0), ENOTSOCK);
    FAILS_WITH (zmq_ctx_term (NULL), EFAULT);
    CHECK (zmq_socket (ctx, 99) == NULL && errno == EINVAL);

    void *t = zmq_socket (ctx, ZMQ_PAIR);
    FAILS_WITH (zmq_connect (t, "nope://x"), EPROTONOSUPPORT);
    FAILS_WITH (zmq_bind (t, "no-transport"), EINVAL);
    CHECK (zmq_bind (t, "inproc://taken") == 0);
    void *u = zmq_socket (ctx, ZMQ_PAIR);
    FAILS_WITH (zmq_bind (u, "inproc://taken"), EADDRINUSE);
    FAILS_WITH (zmq_unbind (u, "inproc://taken"), ENOENT);
    int v = 0;
    FAILS_WITH (zmq_setsockopt (t, ZMQ_GSSAPI_SERVER, &v, sizeof v), EINVAL);
    FAILS_WITH (zmq_setsockopt (t, ZMQ_LINGER, &v, 2), EINVAL);
    CHECK (zmq_close (t) == 0);
    CHECK (zmq_close (u) == 0);

    CHECK (strcmp (zmq_strerror (EFSM),
                   "Operation cannot be accomplished in current state")
           == 0);
    CHECK (strcmp (zmq_strerror (ETERM), "Context was terminated") == 0);
    CHECK (EFSM == 156384712 + 51 && ETERM == 156384712 + 53);
}

static void *blocked_recv (void *s)
{
    char buf[4];
    int rc = zmq_recv (s, buf, sizeof buf, 0);
    int err = zmq_errno ();
    CHECK (rc == -1 && err == ETERM);
    /* After ETERM every call fails so, and closing works. */
    FAILS_WITH (zmq_send (s, "x", 1, 0), ETERM);
    CHECK (zmq_close (s) == 0);
    return NULL;
}

static void term_ends_blocked_calls (void)
{
    void *ctx = zmq_ctx_new ();
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    CHECK (zmq_bind (pull, "inproc://blocked") == 0);
    pthread_t thread;
    CHECK (pthread_create (&thread, NULL, blocked_recv, pull) == 0);
    usleep (50 * 1000); /* either order ends the same way */
    CHECK (zmq_ctx_term (ctx) == 0);
    CHECK (pthread_join (thread, NULL) == 0);
    /* A terminated context is no context. */
    CHECK (zmq_socket (ctx, ZMQ_PAIR) == NULL && errno == EFAULT);
}

/* A CURVE REQ/REP over tcp, the keys given as Z85 text, and a key read
   back in both of libzmq's forms (32 bytes, or 40 Z85 characters and a
   NUL). */
static void curve (const char *server_public, const char *server_secret)
{
    char client_public[41], client_secret[41];
    CHECK (zmq_curve_keypair (client_public, client_secret) == 0);
    void *ctx = zmq_ctx_new ();
    void *rep = zmq_socket (ctx, ZMQ_REP);
    void *req = zmq_socket (ctx, ZMQ_REQ);
    set_int (rep, ZMQ_RCVTIMEO, 10000);
    set_int (req, ZMQ_RCVTIMEO, 10000);
    set_int (rep, ZMQ_CURVE_SERVER, 1);
    CHECK (zmq_setsockopt (rep, ZMQ_CURVE_SECRETKEY, server_secret, 40) == 0);
    CHECK (zmq_setsockopt (req, ZMQ_CURVE_SERVERKEY, server_public, 40) == 0);
    CHECK (zmq_setsockopt (req, ZMQ_CURVE_PUBLICKEY, client_public, 40) == 0);
    CHECK (zmq_setsockopt (req, ZMQ_CURVE_SECRETKEY, client_secret, 40) == 0);
    int mechanism = 0;
    size_t len = sizeof mechanism;
    CHECK (zmq_getsockopt (req, ZMQ_MECHANISM, &mechanism, &len) == 0);
    CHECK (mechanism == ZMQ_CURVE);

    char text[41];
    len = sizeof text;
    CHECK (zmq_getsockopt (req, ZMQ_CURVE_SERVERKEY, text, &len) == 0);
    CHECK (len == 41 && strcmp (text, server_public) == 0);
    uint8_t raw[32], decoded[32];
    len = sizeof raw;
    CHECK (zmq_getsockopt (req, ZMQ_CURVE_SERVERKEY, raw, &len) == 0);
    CHECK (len == 32);
    CHECK (zmq_z85_decode (decoded, server_public) == decoded);
    CHECK (memcmp (raw, decoded, 32) == 0);
    len = 20;
    FAILS_WITH (zmq_getsockopt (req, ZMQ_CURVE_SERVERKEY, raw, &len), EINVAL);

    CHECK (zmq_bind (rep, "tcp://127.0.0.1:*") == 0);
    char endpoint[256];
    len = sizeof endpoint;
    CHECK (zmq_getsockopt (rep, ZMQ_LAST_ENDPOINT, endpoint, &len) == 0);
    CHECK (zmq_connect (req, endpoint) == 0);
    char buf[16];
    CHECK (zmq_send (req, "sealed", 6, 0) == 6);
    CHECK (zmq_recv (rep, buf, sizeof buf, 0) == 6);
    CHECK (memcmp (buf, "sealed", 6) == 0);
    CHECK (zmq_send (rep, "opened", 6, 0) == 6);
    CHECK (zmq_recv (req, buf, sizeof buf, 0) == 6);
    CHECK (memcmp (buf, "opened", 6) == 0);
    set_int (req, ZMQ_LINGER, 0);
    set_int (rep, ZMQ_LINGER, 0);
    CHECK (zmq_close (req) == 0);
    CHECK (zmq_close (rep) == 0);
    CHECK (zmq_ctx_term (ctx) == 0);
}

int main (void)
{
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);
    CHECK (major == 4 && minor == 3 && patch == 4);
    CHECK (zmq_has ("ipc") == 1);
    CHECK (zmq_has ("pgm") == 0);

    void *ctx = zmq_ctx_new ();
    CHECK (ctx);
    req_rep (ctx, "inproc://reqrep");
    req_rep (ctx, "tcp://127.0.0.1:*");
    messages (ctx);
    polling (ctx);
    bad_handles (ctx);
    CHECK (zmq_ctx_term (ctx) == 0);
    term_ends_blocked_calls ();

    char z85[11];
    const uint8_t key[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    CHECK (zmq_z85_encode (z85, key, 8) == z85);
    CHECK (strcmp (z85, "HelloWorld") == 0);
    uint8_t back[8];
    CHECK (zmq_z85_decode (back, "HelloWorld") == back);
    CHECK (memcmp (back, key, 8) == 0);
    void *counter = zmq_atomic_counter_new ();
    CHECK (zmq_atomic_counter_inc (counter) == 0);
    CHECK (zmq_atomic_counter_value (counter) == 1);
    CHECK (zmq_atomic_counter_dec (counter) == 0);
    zmq_atomic_counter_destroy (&counter);
    CHECK (counter == NULL);
    char pub[41], sec[41], derived[41];
    CHECK (zmq_curve_keypair (pub, sec) == 0);
    CHECK (strlen (pub) == 40 && strlen (sec) == 40);
    CHECK (zmq_curve_public (derived, sec) == 0);
    CHECK (strcmp (derived, pub) == 0);
    /* libzmq's test keys (tests/test_sodium.cpp): this secret's
       public key is this one. */
    CHECK (zmq_curve_public (derived, "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs")
           == 0);
    CHECK (strcmp (derived, "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID") == 0);
    FAILS_WITH (zmq_curve_public (derived, "too short"), EINVAL);
    CHECK (zmq_has ("curve") == 1);
    curve (pub, sec);

    printf ("smoke: ok\n");
    return 0;
}
