/* supervisor.c — local worker processes: fork/exec, reap, restart with
 * backoff, crash-loop detection, one registration secret per child (see
 * supervisor.h). Never logs a secret. */
#include "supervisor.h"

#include "log.h"
#include "vault.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#define CRASH_WINDOW_MS 60000

typedef struct slot_t {
    struct tq_supervisor_t *owner;
    pid_t pid; /* 0 when not running */
    int64_t started_ms;
    int consecutive; /* quick deaths in a row, for backoff */
    uint64_t restart_timer;
    char secret[TQ_WORKER_SECRET_LEN + 1]; /* this child's registration secret (hex) */
} slot_t;

struct tq_supervisor_t {
    tq_loop_t *loop;
    char *binary;
    char **argv; /* argv[0] = binary */
    int count;
    slot_t *slots;
    int backoff_max_ms;
    int crash_loop_restarts;
    int64_t *exits; /* ring of recent exit times */
    int nexits;
    int restarts;
    bool stopping;
    tq_child_exit_fn *on_exit;
    void *arg;
};

tq_supervisor_t *tq_supervisor_new(tq_loop_t *loop, const char *binary, char *const *argv,
                                   int count, int backoff_max_ms, int crash_loop_restarts,
                                   tq_child_exit_fn *on_exit, void *arg)
{
    tq_supervisor_t *self = calloc(1, sizeof *self);
    if (!self) return NULL;
    int argc = 0;
    while (argv[argc])
        argc++;
    self->loop = loop;
    self->binary = strdup(binary);
    self->argv = calloc((size_t)argc + 2, sizeof *self->argv);
    self->argv[0] = strdup(binary);
    for (int i = 0; i < argc; i++)
        self->argv[i + 1] = strdup(argv[i]);
    self->count = count;
    self->slots = calloc((size_t)count, sizeof *self->slots);
    for (int i = 0; i < count; i++)
        self->slots[i].owner = self;
    self->backoff_max_ms = backoff_max_ms;
    self->crash_loop_restarts = crash_loop_restarts > 0 ? crash_loop_restarts : 5;
    self->exits = calloc((size_t)self->crash_loop_restarts, sizeof *self->exits);
    self->on_exit = on_exit;
    self->arg = arg;
    return self;
}

extern char **environ;

/* The child's environment: ours without any inherited secret, plus a fresh
 * one (built before fork: the broker has threads, so the child must not
 * allocate). */
static char **child_env(const char *secret)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    char *entry = malloc(sizeof TQ_WORKER_SECRET_ENV + TQ_WORKER_SECRET_LEN + 2);
    if (!env || !entry) {
        free(env);
        free(entry);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], TQ_WORKER_SECRET_ENV "=", sizeof TQ_WORKER_SECRET_ENV) != 0)
            env[k++] = environ[i];
    sprintf(entry, "%s=%s", TQ_WORKER_SECRET_ENV, secret);
    env[k++] = entry;
    env[k] = NULL;
    return env;
}

static void free_env(char **env)
{
    size_t k = 0;
    while (env[k])
        k++;
    tq_secure_wipe(env[k - 1], strlen(env[k - 1])); /* the secret is last */
    free(env[k - 1]);
    free(env);
}

static int spawn(tq_supervisor_t *self, slot_t *s)
{
    unsigned char raw[TQ_WORKER_SECRET_LEN / 2];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        tq_err("cannot draw a worker secret: %s", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(s->secret + 2 * i, 3, "%02x", raw[i]);
    tq_secure_wipe(raw, sizeof raw);
    char **env = child_env(s->secret);
    if (!env) {
        tq_err("cannot fork a worker: out of memory");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        tq_err("cannot fork a worker: %s", strerror(errno));
        free_env(env);
        return -1;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(self->binary, self->argv, env);
        _exit(127); /* the broker logs the exit status */
    }
    free_env(env);
    s->pid = pid;
    s->started_ms = tq_now_ms();
    tq_info("started worker pid %d", (int)pid);
    return 0;
}

int tq_supervisor_start(tq_supervisor_t *self)
{
    for (int i = 0; i < self->count; i++)
        if (spawn(self, &self->slots[i])) return -1;
    return 0;
}

static void on_restart(tq_loop_t *loop, void *arg)
{
    (void)loop;
    slot_t *s = arg;
    tq_supervisor_t *self = s->owner;
    s->restart_timer = 0;
    if (!self->stopping && s->pid == 0 && spawn(self, s) == 0) self->restarts++;
}

static void note_exit(tq_supervisor_t *self)
{
    int64_t now = tq_now_ms();
    int recent = 0;
    for (int i = 0; i < self->crash_loop_restarts; i++)
        if (self->exits[i] && now - self->exits[i] < CRASH_WINDOW_MS) recent++;
    self->exits[self->nexits++ % self->crash_loop_restarts] = now;
    if (recent + 1 >= self->crash_loop_restarts)
        tq_err("workers are in a crash loop: %d exits in the last %d s; restarting with backoff",
               recent + 1, CRASH_WINDOW_MS / 1000);
}

void tq_supervisor_reap(tq_supervisor_t *self)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        slot_t *s = NULL;
        for (int i = 0; i < self->count; i++)
            if (self->slots[i].pid == pid) s = &self->slots[i];
        if (self->on_exit) self->on_exit(pid, status, self->arg);
        if (!s) continue;
        s->pid = 0;
        tq_secure_wipe(s->secret, sizeof s->secret);
        if (self->stopping) continue;
        if (WIFSIGNALED(status))
            tq_warn("worker pid %d killed by signal %d", (int)pid, WTERMSIG(status));
        else
            tq_warn("worker pid %d exited with status %d", (int)pid, WEXITSTATUS(status));
        note_exit(self);
        int64_t lived = tq_now_ms() - s->started_ms;
        s->consecutive = lived > 10000 ? 0 : s->consecutive + 1;
        int64_t delay = 100;
        for (int k = 1; k < s->consecutive && delay < self->backoff_max_ms; k++)
            delay *= 2;
        if (delay > self->backoff_max_ms) delay = self->backoff_max_ms;
        if (s->consecutive <= 1) delay = 0;
        s->restart_timer = tq_loop_timer(self->loop, delay, on_restart, s);
    }
}

void tq_supervisor_stop_restarts(tq_supervisor_t *self)
{
    self->stopping = true;
}

int tq_supervisor_alive(const tq_supervisor_t *self)
{
    int n = 0;
    for (int i = 0; i < self->count; i++)
        n += self->slots[i].pid != 0;
    return n;
}

int tq_supervisor_restarts(const tq_supervisor_t *self)
{
    return self->restarts;
}

bool tq_supervisor_is_child(const tq_supervisor_t *self, pid_t pid)
{
    for (int i = 0; pid > 0 && i < self->count; i++)
        if (self->slots[i].pid == pid) return true;
    return false;
}

bool tq_supervisor_check_secret(const tq_supervisor_t *self, pid_t pid, const char *secret)
{
    if (!secret || strlen(secret) != TQ_WORKER_SECRET_LEN) return false;
    for (int i = 0; pid > 0 && i < self->count; i++)
        if (self->slots[i].pid == pid)
            return CRYPTO_memcmp(self->slots[i].secret, secret, TQ_WORKER_SECRET_LEN) == 0;
    return false;
}

void tq_supervisor_destroy(tq_supervisor_t **self_p, int grace_ms)
{
    if (!self_p || !*self_p) return;
    tq_supervisor_t *self = *self_p;
    self->stopping = true;
    for (int i = 0; i < self->count; i++)
        if (self->slots[i].pid) kill(self->slots[i].pid, SIGTERM);
    int64_t until = tq_now_ms() + grace_ms;
    while (tq_supervisor_alive(self) && tq_now_ms() < until) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        for (int i = 0; pid > 0 && i < self->count; i++)
            if (self->slots[i].pid == pid) self->slots[i].pid = 0;
        if (pid <= 0) usleep(10000);
    }
    for (int i = 0; i < self->count; i++)
        if (self->slots[i].pid) {
            tq_warn("worker pid %d did not stop in time: killing it", (int)self->slots[i].pid);
            kill(self->slots[i].pid, SIGKILL);
            waitpid(self->slots[i].pid, NULL, 0);
        }
    for (int i = 0; self->argv[i]; i++)
        free(self->argv[i]);
    free(self->argv);
    free(self->binary);
    free(self->slots);
    free(self->exits);
    free(self);
    *self_p = NULL;
}
