/* loop.h — the single-threaded event loop used by broker and worker:
 * ZeroMQ sockets and plain fds (libpq, libcurl, signalfd) in one zmq_poll,
 * plus one-shot timers (min-heap). Callbacks run in the loop thread.
 * Owns no socket or fd: callers add and remove them. */
#ifndef TQ_LOOP_H
#define TQ_LOOP_H

#include <stdint.h>

typedef struct tq_loop_t tq_loop_t;

/* events: ZMQ_POLLIN | ZMQ_POLLOUT (same bits as POLLIN/POLLOUT). */
typedef void(tq_io_fn)(tq_loop_t *loop, int revents, void *arg);
typedef void(tq_timer_fn)(tq_loop_t *loop, void *arg);

tq_loop_t *tq_loop_new(void);
void tq_loop_destroy(tq_loop_t **self_p);

/* A ZeroMQ socket (void *) or a file descriptor. One watch per socket/fd;
 * adding again replaces events/callback. */
int tq_loop_add_socket(tq_loop_t *self, void *socket, short events, tq_io_fn *fn, void *arg);
int tq_loop_add_fd(tq_loop_t *self, int fd, short events, tq_io_fn *fn, void *arg);
void tq_loop_remove_socket(tq_loop_t *self, void *socket);
void tq_loop_remove_fd(tq_loop_t *self, int fd);

/* One-shot timer after delay_ms; returns an id > 0 for tq_loop_cancel. */
uint64_t tq_loop_timer(tq_loop_t *self, int64_t delay_ms, tq_timer_fn *fn, void *arg);
void tq_loop_cancel(tq_loop_t *self, uint64_t timer_id);

/* Called once at the end of every loop turn, after all callbacks of that turn
 * (the broker's group commit: everything that arrived in one turn goes into
 * one statement). One hook per loop. */
void tq_loop_on_turn(tq_loop_t *self, tq_timer_fn *fn, void *arg);

/* Monotonic milliseconds / microseconds. */
int64_t tq_now_ms(void);
int64_t tq_now_us(void);

/* Runs until tq_loop_stop(); returns 0, or -1 on a poll error other than EINTR. */
int tq_loop_run(tq_loop_t *self);
void tq_loop_stop(tq_loop_t *self);

#endif
