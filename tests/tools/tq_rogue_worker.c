/* tq_rogue_worker.c — a process the broker did not fork that tries to
 * register on the backend as a worker (READY with a huge credit and a made-up
 * secret), answers heartbeats, and counts the JOBs it is handed. The
 * integration tests check that it gets none. Usage:
 *   tq-rogue-worker BACKEND_ENDPOINT SECONDS [SECRET]
 * On a tcp:// endpoint it is a CURVE client when TOOLQ_CURVE_SERVER_KEY and
 * TOOLQ_CURVE_KEY are set, else a plaintext peer (which the broker must never
 * hear). Prints "jobs N replies M" (M: every message it got) and exits 0. */
#include "curvekey.h"
#include "loop.h"
#include "msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: tq-rogue-worker BACKEND_ENDPOINT SECONDS [SECRET]\n");
        return 2;
    }
    /* A helper never outlives its test: if anything below hangs (libzmq's
     * teardown after a refused handshake has been seen to), it dies within
     * SECONDS + 20 instead of holding the test until ctest's timeout. */
    alarm((unsigned)atoi(argv[2]) + 20);
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    char why[400];
    if (getenv("TOOLQ_CURVE_KEY") && tq_curve_endpoint(argv[1]) &&
        tq_curve_client(s, getenv("TOOLQ_CURVE_SERVER_KEY"), getenv("TOOLQ_CURVE_KEY"), why,
                        sizeof why)) {
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    if (zmq_connect(s, argv[1]) != 0) {
        perror("connect");
        return 1;
    }
    char secret[TQ_WORKER_SECRET_LEN + 1];
    memset(secret, 'a', TQ_WORKER_SECRET_LEN);
    secret[TQ_WORKER_SECRET_LEN] = '\0';
    tq_msg_t m;
    tq_msg_init(&m, TQ_MSG_READY);
    m.credit = 100000;
    m.pid = getpid();
    m.secret = argc > 3 ? argv[3] : secret;
    tq_msg_send(s, NULL, 0, &m, 0);
    int jobs = 0, replies = 0;
    int64_t until = tq_now_ms() + (int64_t)atoi(argv[2]) * 1000;
    while (tq_now_ms() < until) {
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 100) <= 0) continue;
        zmq_msg_t f;
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, s, 0) < 0) {
            zmq_msg_close(&f);
            continue;
        }
        tq_msg_t in;
        tq_error_t err = {0};
        replies++;
        if (tq_msg_decode(zmq_msg_data(&f), zmq_msg_size(&f), 1u << 24, &in, &err) == 0) {
            if (in.type == TQ_MSG_JOB) {
                jobs++; /* answer it, so a worker the broker admits looks alive */
                tq_msg_t r;
                tq_msg_init(&r, TQ_MSG_RESULT);
                memcpy(r.id, in.id, sizeof r.id);
                r.attempt = in.attempt;
                r.ok = true;
                r.result = "{\"rogue\":true}";
                r.result_len = strlen(r.result);
                tq_msg_send(s, NULL, 0, &r, 0);
            }
            if (in.type == TQ_MSG_HEARTBEAT) {
                tq_msg_t h;
                tq_msg_init(&h, TQ_MSG_HEARTBEAT);
                tq_msg_send(s, NULL, 0, &h, 0);
            }
            if (in.type == TQ_MSG_DISCONNECT) tq_msg_send(s, NULL, 0, &m, 0); /* try again */
            tq_msg_reset(&in);
        }
        zmq_msg_close(&f);
    }
    printf("jobs %d replies %d\n", jobs, replies);
    fflush(stdout); /* the count is out before the teardown */
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}
