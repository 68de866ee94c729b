/* outbox.h — messages queued per peer of one ZeroMQ socket and sent at a
 * flush (the broker and the worker: at the end of each loop turn; libtoolq:
 * when the caller flushes or receives), each peer's as ONE ZeroMQ message of
 * several frames (one msgpack map each, schemas/wire-protocol.md "Batches"):
 * one socket write and one wake-up of the peer instead of one per message.
 * Only for peers that said they read batches ("bt"); order per peer is kept.
 * Owns the encoded frames until they are sent; never decodes, never blocks
 * unless the socket's flags say so (tq_outbox_new). Bounds: a peer's batch
 * is sent early at TQ_OUTBOX_MAX_FRAMES frames or TQ_OUTBOX_MAX_BYTES bytes,
 * and everything at TQ_OUTBOX_MAX_PEERS peers in one turn. */
#ifndef TQ_OUTBOX_H
#define TQ_OUTBOX_H

#include "msg.h"

#include <stddef.h>

#define TQ_OUTBOX_MAX_FRAMES 256
#define TQ_OUTBOX_MAX_BYTES (1024 * 1024)
#define TQ_OUTBOX_MAX_PEERS 64

typedef struct tq_outbox_t tq_outbox_t;

/* For socket (ROUTER: peers by identity; DEALER: one peer, identity NULL);
 * send_flags for zmq_send (ZMQ_DONTWAIT or 0). NULL when out of memory: the
 * functions below take a NULL outbox, and add then fails (send at once). */
tq_outbox_t *tq_outbox_new(void *socket, int send_flags);
/* Sends what is queued, then frees. */
void tq_outbox_destroy(tq_outbox_t **self_p);

/* Encodes m and queues it for the peer. 0, or -1 (m cannot be encoded, no
 * memory, no outbox): the caller sends m at once. */
int tq_outbox_add(tq_outbox_t *self, const void *identity, size_t identity_len, const tq_msg_t *m);

/* Sends every peer's queue as one message. Returns the number of batches
 * that could not be sent since the last flush (a gone ROUTER peer, a full
 * pipe, no connected peer), counting those sent early because they were
 * full: their messages are dropped, as a single send would have been. */
int tq_outbox_flush(tq_outbox_t *self);

#endif
