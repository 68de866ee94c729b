/* provider_parse.c — the import thread pool (provider_parse.h): a FIFO of
 * parse tasks (and other heavy provider work) served by worker.import_threads threads started on
 * first use; finished tasks go back to the loop through an eventfd watched by the loop. The threads
 * touch only their task (document text, options, a fetch context copied from the configuration):
 * never the job, the database, the vault or the loop. Tasks of dropped jobs are cancelled and
 * freed, never reported. */
#include "provider_parse.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "loop.h"
#include "pg.h"
#include "provider_creds.h"
#include "provider_fetch.h"

typedef struct task_s {
    tq_job_t *job; /* NULL once dropped */
    json_t *payload_ref;
    tq_openapi_opts_t opts;
    tq_provider_fetch_ctx_t fetch;
    const char *buf;
    size_t len;
    tq_provider_parsed_fn done;
    tq_provider_store_fn store; /* in the thread, after the parse */
    void (*work)(void *arg);    /* generic task (tq_provider_pool_run) */
    void (*work_done)(tq_job_t *job, void *arg);
    void (*free_arg)(void *);
    void *arg;
    volatile int cancel;
    json_t *parsed; /* outcome, filled by the thread */
    char *tools_text, *defs_text;
    tq_error_t err;
    struct task_s *next;
} task_t;

static char *s_db_url;             /* database.url, copied at pool start */
static _Thread_local PGconn *s_db; /* each pool thread's own connection */

PGconn *tq_provider_pool_db(tq_error_t *err)
{
    if (s_db && PQstatus(s_db) != CONNECTION_OK) {
        PQfinish(s_db);
        s_db = NULL;
    }
    if (!s_db) s_db = tq_pg_connect(s_db_url, err);
    return s_db;
}

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_cv = PTHREAD_COND_INITIALIZER;
static task_t *s_todo_head, *s_todo_tail; /* FIFO */
static task_t *s_finished;                /* back to the loop */
static int s_efd = -1;

static void run(task_t *t)
{
    if (t->work) {
        if (!t->cancel) t->work(t->arg);
        return;
    }
    if (t->cancel) {
        tq_error_set(&t->err, "cancelled", "the import was cancelled");
        return;
    }
    json_t *full = NULL;
    if (tq_openapi_parse(t->buf, t->len, &t->opts, &full, &t->err)) return;
    json_t *tools = json_object_get(full, "tools");
    t->tools_text = json_dumps(tools, JSON_COMPACT);
    t->defs_text = json_dumps(json_object_get(full, "defs"), JSON_COMPACT);
    if (!t->tools_text || !t->defs_text) {
        json_decref(full);
        tq_error_set(&t->err, "internal", "the parse result could not be encoded");
        return;
    }
    if (t->store && t->store(t->arg, full, t->tools_text, t->defs_text, &t->err)) {
        json_decref(full);
        return;
    }
    /* The loop thread gets the import result without its tools (encoded
     * above): building, encoding and freeing the big tree all happen here. */
    t->parsed = json_copy(full);
    json_object_del(t->parsed, "tools");
    json_object_del(t->parsed, "defs");
    json_object_set_new(t->parsed, "tool_count", json_integer((json_int_t)json_array_size(tools)));
    /* where the tools go: what a provider key is bound to (provider_creds.h) */
    json_object_set_new(t->parsed, "origins", tq_provider_tool_origins(tools));
    json_decref(full);
}

static void *thread_main(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&s_mu);
        while (!s_todo_head)
            pthread_cond_wait(&s_cv, &s_mu);
        task_t *t = s_todo_head;
        s_todo_head = t->next;
        if (!s_todo_head) s_todo_tail = NULL;
        pthread_mutex_unlock(&s_mu);
        run(t);
        pthread_mutex_lock(&s_mu);
        t->next = s_finished;
        s_finished = t;
        pthread_mutex_unlock(&s_mu);
        uint64_t one = 1;
        ssize_t w = write(s_efd, &one, sizeof one);
        (void)w; /* the counter only saturates; the loop drains everything anyway */
    }
    return NULL;
}

static void task_free(task_t *t)
{
    json_decref(t->parsed);
    free(t->tools_text);
    free(t->defs_text);
    tq_provider_fetch_ctx_clear(&t->fetch);
    json_decref(t->payload_ref);
    free(t);
}

/* Loop thread: hands finished tasks to their handlers. */
static void on_finished(tq_loop_t *loop, int revents, void *arg)
{
    (void)loop;
    (void)revents;
    (void)arg;
    uint64_t n;
    ssize_t r = read(s_efd, &n, sizeof n);
    (void)r;
    pthread_mutex_lock(&s_mu);
    task_t *list = s_finished;
    s_finished = NULL;
    pthread_mutex_unlock(&s_mu);
    while (list) {
        task_t *t = list;
        list = t->next;
        if (t->job) {
            tq_job_on_drop(t->job, NULL, NULL);
            if (t->work_done)
                t->work_done(t->job, t->arg);
            else
                t->done(t->job, t->arg, t->parsed, t->tools_text, t->defs_text, &t->err);
            t->parsed = NULL;
            t->tools_text = t->defs_text = NULL;
        } else if (t->free_arg) {
            t->free_arg(t->arg);
        }
        task_free(t);
    }
}

static void on_drop(tq_job_t *job, void *arg)
{
    (void)job;
    task_t *t = arg;
    t->job = NULL;
    t->cancel = 1; /* the thread stops at its next check; the task is freed when it comes back */
}

static int pool_start(tq_job_t *job, tq_error_t *err)
{
    if (s_efd >= 0) return 0;
    int threads = (int)tq_config_int(tq_job_config(job), "worker.import_threads");
    s_db_url = strdup(tq_config_str(tq_job_config(job), "database.url"));
    s_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s_efd < 0) return tq_error_set(err, "internal", "eventfd: cannot create");
    tq_loop_add_fd(tq_job_loop(job), s_efd, ZMQ_POLLIN, on_finished, NULL);
    for (int i = 0; i < threads; i++) {
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 16u << 20); /* deep documents recurse */
        int rc = pthread_create(&th, &at, thread_main, NULL);
        pthread_attr_destroy(&at);
        if (rc && i == 0) return tq_error_set(err, "internal", "cannot start an import thread");
    }
    return 0;
}

static void enqueue(task_t *t)
{
    tq_job_on_drop(t->job, on_drop, t);
    pthread_mutex_lock(&s_mu);
    if (s_todo_tail)
        s_todo_tail->next = t;
    else
        s_todo_head = t;
    s_todo_tail = t;
    pthread_cond_signal(&s_cv);
    pthread_mutex_unlock(&s_mu);
}

int tq_provider_pool_run(tq_job_t *job, void (*work)(void *arg),
                         void (*done)(tq_job_t *job, void *arg), void (*free_arg)(void *),
                         void *arg, tq_error_t *err)
{
    if (pool_start(job, err)) return -1;
    task_t *t = calloc(1, sizeof *t);
    if (!t) return tq_error_set(err, "internal", "out of memory");
    t->job = job;
    t->payload_ref = json_incref(tq_job_payload(job));
    t->work = work;
    t->work_done = done;
    t->free_arg = free_arg;
    t->arg = arg;
    enqueue(t);
    return 0;
}

int tq_provider_parse_start(tq_job_t *job, const tq_openapi_opts_t *opts, const char *buf,
                            size_t len, tq_provider_store_fn store, tq_provider_parsed_fn done,
                            void (*free_arg)(void *), void *arg, tq_error_t *err)
{
    if (pool_start(job, err)) return -1;
    task_t *t = calloc(1, sizeof *t);
    if (!t) return tq_error_set(err, "internal", "out of memory");
    t->job = job;
    t->payload_ref = json_incref(tq_job_payload(job));
    t->opts = *opts;
    int budget = tq_job_timeout_ms(job);
    /* Leave the worker time to store the result and answer within the lease. */
    t->opts.deadline_ms = budget > 0 ? tq_now_ms() + (budget > 2000 ? budget - 1000 : budget) : 0;
    tq_provider_fetch_ctx_init(&t->fetch, tq_job_config(job), t->opts.deadline_ms);
    t->opts.fetch_ref = tq_provider_fetch;
    t->opts.fetch_ctx = &t->fetch;
    t->opts.cancel = &t->cancel;
    t->buf = buf;
    t->len = len;
    t->store = store;
    t->done = done;
    t->free_arg = free_arg;
    t->arg = arg;
    enqueue(t);
    return 0;
}
