/* tq_garbage.c — sends hostile frames to a broker socket (frontend or
 * backend): random bytes, truncated and oversized msgpack, maps that claim
 * billions of entries, wrong field types, unknown versions and types,
 * multi-frame messages. The integration tests then check the broker still
 * answers. Usage: tq-garbage ENDPOINT [COUNT] [MAX_FRAME_BYTES] */
#include "msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <zmq.h>

static void send_raw(void *s, const void *p, size_t n, int more)
{
    zmq_send(s, p, n, more ? ZMQ_SNDMORE : 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tq-garbage ENDPOINT [COUNT] [MAX_FRAME_BYTES]\n");
        return 2;
    }
    int count = argc > 2 ? atoi(argv[2]) : 2000;
    size_t max = argc > 3 ? (size_t)atol(argv[3]) : 16u << 20;
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 2000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(s, argv[1]) != 0) {
        perror("connect");
        return 1;
    }
    static const unsigned char fixed[][16] = {
        {0xdf, 0xff, 0xff, 0xff, 0xff},                /* map32 of 4 billion entries */
        {0xdd, 0xff, 0xff, 0xff, 0xff},                /* array32 */
        {0xdb, 0xff, 0xff, 0xff, 0xf0, 'a'},           /* str32 longer than the frame */
        {0x81, 0xa1, 'v', 0xc1},                       /* reserved byte */
        {0x82, 0xa1, 'v', 0x01, 0xa1, 't', 0x7f},      /* unknown type */
        {0x82, 0xa1, 'v', 0x09, 0xa1, 't', 0x01},      /* unknown version */
        {0x82, 0xa1, 'v', 0x01, 0xa1, 't', 0xa1, 'x'}, /* type is a string */
        {0x81, 0x01, 0x01},                            /* integer key */
        {0x81, 0xa1, 'v', 0x81, 0xa1, 'v', 0x01},      /* nested map */
        {0x93, 0x01, 0x02, 0x03},                      /* array, not a map */
        {0xc0},                                        /* nil */
    };
    static const size_t fixed_len[] = {5, 5, 6, 4, 7, 7, 8, 3, 7, 4, 1};
    for (size_t i = 0; i < sizeof fixed_len / sizeof fixed_len[0]; i++)
        send_raw(s, fixed[i], fixed_len[i], 0);
    /* valid messages with hostile field values */
    tq_msg_t m;
    tq_msg_init(&m, TQ_MSG_SUBMIT);
    m.rid = 7;
    tq_msg_set(&m.tenant, "t");
    tq_msg_set(&m.op, "ping");
    tq_msg_set(&m.payload, "{\"a\":");
    unsigned char *buf;
    size_t n;
    tq_msg_encode(&m, &buf, &n);
    send_raw(s, buf, n, 0);
    for (size_t cut = 1; cut < n; cut++) /* every truncation */
        send_raw(s, buf, cut, 0);
    free(buf);
    tq_msg_reset(&m);
    tq_msg_init(&m, TQ_MSG_RESULT); /* a worker RESULT for a job that does not exist */
    snprintf(m.id, sizeof m.id, "00000000-0000-4000-8000-000000000000");
    m.attempt = 1;
    m.ok = true;
    tq_msg_send(s, NULL, 0, &m, 0);
    tq_msg_init(&m, TQ_MSG_READY); /* absurd credit */
    m.credit = -5;
    tq_msg_send(s, NULL, 0, &m, 0);
    /* multi-frame message */
    send_raw(s, "a", 1, 1);
    send_raw(s, "b", 1, 1);
    send_raw(s, "c", 1, 0);
    /* an oversized frame */
    size_t big = max + 1;
    unsigned char *huge = calloc(1, big);
    if (huge) {
        huge[0] = 0x81;
        send_raw(s, huge, big, 0);
        free(huge);
    }
    /* random frames, some starting like a map */
    unsigned char rnd[512];
    for (int i = 0; i < count; i++) {
        size_t len = 1 + (size_t)(i * 7919) % sizeof rnd;
        if (getrandom(rnd, len, 0) < 0) break;
        if (i % 3 == 0) rnd[0] = (unsigned char)(0x80 | (rnd[0] & 0x0f));
        send_raw(s, rnd, len, 0);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    printf("sent %d garbage frames\n", count + 20);
    return 0;
}
