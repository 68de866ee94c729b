/* oauth_batch.c — queues per statement, flushed from a zero-delay loop
 * timer (after every callback of the current turn has queued its row), at
 * most oauth.refresh_batch_max rows per statement (see oauth_batch.h).
 * Never logs. */
#include "oauth_batch.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>

typedef struct queue_t queue_t;

struct tq_oauth_batch_item_t {
    tq_job_t *job;
    json_t *row;
    tq_oauth_batch_fn *done; /* NULL: cancelled while its statement runs */
    void *arg;
    queue_t *q; /* NULL once taken by a flush */
    tq_oauth_batch_item_t *next;
};

struct queue_t {
    tq_credstore_oauth_stmt_t stmt;
    tq_loop_t *loop;
    tq_oauth_batch_item_t *head, *tail;
    uint64_t timer;
    queue_t *next;
};

static queue_t *s_queues; /* one per statement, per process */

static void item_free(tq_oauth_batch_item_t *it)
{
    json_decref(it->row);
    free(it);
}

/* Runs one statement for items (a detached list of n) and answers them. */
static void run_chunk(tq_credstore_oauth_stmt_t stmt, tq_oauth_batch_item_t **items, size_t n)
{
    tq_error_t err = {0};
    tq_job_t *job = NULL;
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        if (!items[i]->done) continue;
        if (!job) job = items[i]->job;
        json_object_set_new(items[i]->row, "ord", json_integer((json_int_t)i));
        json_array_append(rows, items[i]->row);
    }
    PGresult *res = NULL;
    int *at = tq_xcalloc(n + 1, sizeof *at);
    for (size_t i = 0; i < n; i++)
        at[i] = -1;
    if (job) {
        PGconn *db = tq_job_db(job, &err);
        res = db ? tq_credstore_oauth_run(db, stmt, rows, &err) : NULL;
        for (int r = 0; res && r < PQntuples(res); r++) {
            long ord = strtol(PQgetvalue(res, r, 0), NULL, 10);
            if (ord >= 0 && (size_t)ord < n) at[ord] = r;
        }
    }
    json_decref(rows);
    for (size_t i = 0; i < n; i++) {
        tq_oauth_batch_item_t *it = items[i];
        if (it->done) it->done(res, res ? at[i] : -1, res ? NULL : &err, it->arg);
        item_free(it);
    }
    free(at);
    PQclear(res);
}

static void on_flush(tq_loop_t *loop, void *arg)
{
    (void)loop;
    queue_t *q = arg;
    q->timer = 0;
    tq_oauth_batch_item_t *list = q->head;
    q->head = q->tail = NULL;
    size_t max = 0, n = 0;
    for (tq_oauth_batch_item_t *it = list; it; it = it->next) {
        it->q = NULL;
        if (!max) max = (size_t)tq_config_int(tq_job_config(it->job), "oauth.refresh_batch_max");
        n++;
    }
    if (max < 1) max = 1;
    tq_oauth_batch_item_t **items = tq_xcalloc(n + 1, sizeof *items);
    size_t k = 0;
    for (tq_oauth_batch_item_t *it = list; it; it = it->next)
        items[k++] = it;
    for (size_t off = 0; off < n; off += max)
        run_chunk(q->stmt, items + off, n - off < max ? n - off : max);
    free(items);
}

tq_oauth_batch_item_t *tq_oauth_batch_add(tq_job_t *job, tq_credstore_oauth_stmt_t stmt,
                                          json_t *row, tq_oauth_batch_fn *done, void *arg)
{
    queue_t *q = s_queues;
    while (q && (q->stmt != stmt || q->loop != tq_job_loop(job)))
        q = q->next;
    if (!q) {
        q = tq_xcalloc(1, sizeof *q);
        q->stmt = stmt;
        q->loop = tq_job_loop(job);
        q->next = s_queues;
        s_queues = q;
    }
    tq_oauth_batch_item_t *it = tq_xcalloc(1, sizeof *it);
    *it = (tq_oauth_batch_item_t){.job = job, .row = row, .done = done, .arg = arg, .q = q};
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    if (!q->timer) q->timer = tq_loop_timer(q->loop, 0, on_flush, q);
    return it;
}

void tq_oauth_batch_cancel(tq_oauth_batch_item_t **item_p)
{
    if (!item_p || !*item_p) return;
    tq_oauth_batch_item_t *it = *item_p;
    *item_p = NULL;
    queue_t *q = it->q;
    if (!q) { /* its statement is running: the flush frees it */
        it->done = NULL;
        return;
    }
    tq_oauth_batch_item_t **pp = &q->head, *prev = NULL;
    while (*pp && *pp != it) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp) *pp = it->next;
    if (q->tail == it) q->tail = prev;
    if (!q->head && q->timer) {
        tq_loop_cancel(q->loop, q->timer);
        q->timer = 0;
    }
    item_free(it);
}
