/* loop.c — single-threaded event loop over zmq_poll: ZeroMQ sockets, plain
 * fds and one-shot timers (binary min-heap). Owns only its watch list and
 * timer heap; never closes a socket or fd it was given. */
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

typedef struct {
    void *socket; /* NULL for an fd watch */
    int fd;
    short events;
    tq_io_fn *fn;
    void *arg;
} watch_t;

typedef struct {
    int64_t due_ms;
    uint64_t id;
    tq_timer_fn *fn;
    void *arg;
} timer_t_;

struct tq_loop_t {
    watch_t *watches;
    size_t nwatch, capwatch;
    timer_t_ *heap;
    size_t ntimer, captimer;
    uint64_t next_timer_id;
    bool stopped;
    bool watches_changed;
    tq_timer_fn *turn_fn;
    void *turn_arg;
};

int64_t tq_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t tq_now_ms(void)
{
    return tq_now_us() / 1000;
}

tq_loop_t *tq_loop_new(void)
{
    tq_loop_t *self = calloc(1, sizeof *self);
    if (self) self->next_timer_id = 1;
    return self;
}

void tq_loop_destroy(tq_loop_t **self_p)
{
    if (!self_p || !*self_p) return;
    tq_loop_t *self = *self_p;
    free(self->watches);
    free(self->heap);
    free(self);
    *self_p = NULL;
}

static int add_watch(tq_loop_t *self, void *socket, int fd, short events, tq_io_fn *fn, void *arg)
{
    for (size_t i = 0; i < self->nwatch; i++) {
        watch_t *w = &self->watches[i];
        if (w->socket == socket && (socket || w->fd == fd)) {
            w->events = events;
            w->fn = fn;
            w->arg = arg;
            return 0;
        }
    }
    if (self->nwatch == self->capwatch) {
        size_t cap = self->capwatch ? self->capwatch * 2 : 8;
        watch_t *n = realloc(self->watches, cap * sizeof *n);
        if (!n) return -1;
        self->watches = n;
        self->capwatch = cap;
    }
    self->watches[self->nwatch++] = (watch_t){socket, fd, events, fn, arg};
    self->watches_changed = true;
    return 0;
}

int tq_loop_add_socket(tq_loop_t *self, void *socket, short events, tq_io_fn *fn, void *arg)
{
    return add_watch(self, socket, -1, events, fn, arg);
}

int tq_loop_add_fd(tq_loop_t *self, int fd, short events, tq_io_fn *fn, void *arg)
{
    return add_watch(self, NULL, fd, events, fn, arg);
}

static void remove_watch(tq_loop_t *self, void *socket, int fd)
{
    for (size_t i = 0; i < self->nwatch; i++) {
        watch_t *w = &self->watches[i];
        if (w->socket == socket && (socket || w->fd == fd)) {
            self->watches[i] = self->watches[--self->nwatch];
            self->watches_changed = true;
            return;
        }
    }
}

void tq_loop_remove_socket(tq_loop_t *self, void *socket)
{
    remove_watch(self, socket, -1);
}

void tq_loop_remove_fd(tq_loop_t *self, int fd)
{
    remove_watch(self, NULL, fd);
}

/* --- timer heap ---------------------------------------------------------- */

static bool before(const timer_t_ *a, const timer_t_ *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->id < b->id);
}

static void heap_up(tq_loop_t *self, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&self->heap[i], &self->heap[p])) break;
        timer_t_ t = self->heap[i];
        self->heap[i] = self->heap[p];
        self->heap[p] = t;
        i = p;
    }
}

static void heap_down(tq_loop_t *self, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < self->ntimer && before(&self->heap[l], &self->heap[m])) m = l;
        if (r < self->ntimer && before(&self->heap[r], &self->heap[m])) m = r;
        if (m == i) return;
        timer_t_ t = self->heap[i];
        self->heap[i] = self->heap[m];
        self->heap[m] = t;
        i = m;
    }
}

uint64_t tq_loop_timer(tq_loop_t *self, int64_t delay_ms, tq_timer_fn *fn, void *arg)
{
    if (self->ntimer == self->captimer) {
        size_t cap = self->captimer ? self->captimer * 2 : 16;
        timer_t_ *n = realloc(self->heap, cap * sizeof *n);
        if (!n) return 0;
        self->heap = n;
        self->captimer = cap;
    }
    uint64_t id = self->next_timer_id++;
    self->heap[self->ntimer] = (timer_t_){tq_now_ms() + (delay_ms < 0 ? 0 : delay_ms), id, fn, arg};
    heap_up(self, self->ntimer++);
    return id;
}

void tq_loop_cancel(tq_loop_t *self, uint64_t timer_id)
{
    for (size_t i = 0; i < self->ntimer; i++) {
        if (self->heap[i].id == timer_id) {
            self->heap[i] = self->heap[--self->ntimer];
            if (i < self->ntimer) {
                heap_down(self, i);
                heap_up(self, i);
            }
            return;
        }
    }
}

static void run_due_timers(tq_loop_t *self)
{
    int64_t now = tq_now_ms();
    while (self->ntimer > 0 && self->heap[0].due_ms <= now && !self->stopped) {
        timer_t_ t = self->heap[0];
        self->heap[0] = self->heap[--self->ntimer];
        heap_down(self, 0);
        t.fn(self, t.arg);
    }
}

void tq_loop_on_turn(tq_loop_t *self, tq_timer_fn *fn, void *arg)
{
    self->turn_fn = fn;
    self->turn_arg = arg;
}

/* --- run ----------------------------------------------------------------- */

void tq_loop_stop(tq_loop_t *self)
{
    self->stopped = true;
}

int tq_loop_run(tq_loop_t *self)
{
    zmq_pollitem_t *items = NULL;
    watch_t *snap = NULL;
    size_t cap = 0;
    int rc = 0;
    self->stopped = false;
    while (!self->stopped) {
        size_t n = self->nwatch;
        if (n > cap) {
            cap = n * 2;
            zmq_pollitem_t *ni = realloc(items, cap * sizeof *ni);
            watch_t *ns = ni ? realloc(snap, cap * sizeof *ns) : NULL;
            if (!ni || !ns) {
                free(ni ? ni : items);
                free(ns ? ns : snap);
                return -1;
            }
            items = ni;
            snap = ns;
        }
        if (n) memcpy(snap, self->watches, n * sizeof *snap); /* none: both may be NULL */
        for (size_t i = 0; i < n; i++)
            items[i] = (zmq_pollitem_t){snap[i].socket, snap[i].fd, snap[i].events, 0};
        long timeout = -1;
        if (self->ntimer > 0) {
            int64_t d = self->heap[0].due_ms - tq_now_ms();
            timeout = d < 0 ? 0 : (long)d;
        }
        self->watches_changed = false;
        int r = zmq_poll(items, (int)n, timeout);
        if (r < 0) {
            if (errno == EINTR) continue;
            rc = -1;
            break;
        }
        for (size_t i = 0; i < n && r > 0 && !self->stopped; i++) {
            if (!items[i].revents) continue;
            r--;
            /* A callback may have removed a later watch: skip stale ones. */
            if (self->watches_changed) {
                bool live = false;
                for (size_t j = 0; j < self->nwatch; j++)
                    if (self->watches[j].socket == snap[i].socket &&
                        (snap[i].socket || self->watches[j].fd == snap[i].fd) &&
                        self->watches[j].fn == snap[i].fn && self->watches[j].arg == snap[i].arg)
                        live = true;
                if (!live) continue;
            }
            snap[i].fn(self, items[i].revents, snap[i].arg);
        }
        run_due_timers(self);
        if (self->turn_fn && !self->stopped) self->turn_fn(self, self->turn_arg);
    }
    free(items);
    free(snap);
    return rc;
}
