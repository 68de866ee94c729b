/* tq_batch.c — a raw frontend client that sends N ping SUBMITs (wait, "bt")
 * as ONE ZeroMQ message of N frames (a batch, schemas/wire-protocol.md) and
 * reads until it has N replies or T ms pass. Prints
 * {"results":R,"rejected":J,"accepted":A,"messages":M,"largest":K}: R
 * RESULTs that succeeded, J REJECTEDs, A ACCEPTEDs, M ZeroMQ messages they
 * came in, K the most frames in one. Usage: tq-batch ENDPOINT TENANT [N] [TIMEOUT_MS] */
#include "msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: tq-batch ENDPOINT TENANT [N] [TIMEOUT_MS]\n");
        return 2;
    }
    int n = argc > 3 ? atoi(argv[3]) : 50;
    int timeout_ms = argc > 4 ? atoi(argv[4]) : 10000;
    if (n < 1 || n > 10000) {
        fprintf(stderr, "tq-batch: N must be 1 to 10000\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_connect(s, argv[1]) != 0) {
        perror("tq-batch: connect");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        tq_msg_t m;
        tq_msg_init(&m, TQ_MSG_SUBMIT);
        m.rid = (uint64_t)i + 1;
        m.tenant = argv[2];
        m.op = "ping";
        m.wait = true;
        m.batch = true;
        unsigned char *buf;
        size_t len;
        if (tq_msg_encode(&m, &buf, &len) ||
            zmq_send(s, buf, len, i + 1 < n ? ZMQ_SNDMORE : 0) < 0) {
            fprintf(stderr, "tq-batch: cannot send\n");
            return 1;
        }
        free(buf);
    }
    int results = 0, rejected = 0, accepted = 0, messages = 0, largest = 0;
    while (results + rejected < n) {
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, timeout_ms) != 1) break;
        int frames = 0, more = 1;
        while (more) {
            zmq_msg_t f;
            zmq_msg_init(&f);
            if (zmq_msg_recv(&f, s, 0) < 0) break;
            more = zmq_msg_more(&f);
            frames++;
            tq_msg_t m;
            tq_error_t err = {0};
            if (tq_msg_decode(zmq_msg_data(&f), zmq_msg_size(&f), 1 << 24, &m, &err) == 0) {
                if (m.type == TQ_MSG_RESULT && m.state && strcmp(m.state, "succeeded") == 0)
                    results++;
                else if (m.type == TQ_MSG_REJECTED)
                    rejected++;
                else if (m.type == TQ_MSG_ACCEPTED)
                    accepted++;
                tq_msg_reset(&m);
            }
            zmq_msg_close(&f);
        }
        messages++;
        if (frames > largest) largest = frames;
    }
    printf("{\"results\":%d,\"rejected\":%d,\"accepted\":%d,\"messages\":%d,\"largest\":%d}\n",
           results, rejected, accepted, messages, largest);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}
