/* outbox.c — per-peer batches of encoded messages, sent as one multi-frame
 * ZeroMQ message at a flush (outbox.h). */
#include "outbox.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    unsigned char *data;
    size_t len;
} frame_t;

typedef struct {
    unsigned char ident[256];
    size_t ident_len;
    frame_t frames[TQ_OUTBOX_MAX_FRAMES];
    size_t nframes, bytes;
} peer_t;

struct tq_outbox_t {
    void *socket;
    int flags;
    peer_t *peers[TQ_OUTBOX_MAX_PEERS]; /* [0, npeers) queued this turn; the rest spare */
    size_t npeers;
    int early_failed; /* batches sent early (full) that failed; told at the next flush */
};

tq_outbox_t *tq_outbox_new(void *socket, int send_flags)
{
    tq_outbox_t *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->socket = socket;
    o->flags = send_flags;
    return o;
}

void tq_outbox_destroy(tq_outbox_t **self_p)
{
    tq_outbox_t *o = *self_p;
    if (!o) return;
    tq_outbox_flush(o);
    for (size_t i = 0; i < TQ_OUTBOX_MAX_PEERS; i++)
        free(o->peers[i]);
    free(o);
    *self_p = NULL;
}

/* One peer's frames as one message; the frames are freed either way. */
static int send_peer(tq_outbox_t *o, peer_t *p)
{
    int rc = 0;
    if (p->ident_len && zmq_send(o->socket, p->ident, p->ident_len, ZMQ_SNDMORE | o->flags) < 0)
        rc = -1;
    for (size_t i = 0; i < p->nframes; i++) {
        int more = i + 1 < p->nframes ? ZMQ_SNDMORE : 0;
        if (rc == 0 &&
            zmq_send(o->socket, p->frames[i].data, p->frames[i].len, more | o->flags) < 0)
            rc = -1;
        free(p->frames[i].data);
    }
    p->nframes = p->bytes = 0;
    return rc;
}

int tq_outbox_flush(tq_outbox_t *o)
{
    if (!o) return 0;
    int failed = o->early_failed;
    o->early_failed = 0;
    for (size_t i = 0; i < o->npeers; i++)
        failed += send_peer(o, o->peers[i]) < 0;
    o->npeers = 0;
    return failed;
}

int tq_outbox_add(tq_outbox_t *o, const void *identity, size_t identity_len, const tq_msg_t *m)
{
    if (!o || identity_len > sizeof o->peers[0]->ident) return -1;
    if (!identity) identity = ""; /* DEALER: no identity */
    frame_t f;
    if (tq_msg_encode(m, &f.data, &f.len)) return -1;
    peer_t *p = NULL;
    for (size_t i = 0; i < o->npeers && !p; i++)
        if (o->peers[i]->ident_len == identity_len &&
            memcmp(o->peers[i]->ident, identity, identity_len) == 0)
            p = o->peers[i];
    if (!p) {
        if (o->npeers == TQ_OUTBOX_MAX_PEERS) o->early_failed += tq_outbox_flush(o);
        if (!o->peers[o->npeers] && !(o->peers[o->npeers] = malloc(sizeof *p))) {
            free(f.data);
            return -1;
        }
        p = o->peers[o->npeers++];
        memcpy(p->ident, identity, identity_len);
        p->ident_len = identity_len;
        p->nframes = p->bytes = 0;
    }
    if (p->nframes == TQ_OUTBOX_MAX_FRAMES ||
        (p->nframes && p->bytes + f.len > TQ_OUTBOX_MAX_BYTES))
        o->early_failed += send_peer(o, p) < 0; /* full: this part goes now, the peer stays */
    p->frames[p->nframes++] = f;
    p->bytes += f.len;
    return 0;
}
