/* pidcache.c — getpid() without a system call, for the broker and worker
 * executables only (CMakeLists.txt links this file into those two; it is not
 * in any library, so libtoolq never changes its users' getpid).
 *
 * Why: libzmq checks getpid() against the pid it saw at start in every
 * mailbox operation (its fork check), several times per message, and glibc
 * (since 2.25) no longer caches the pid: measured here, getpid was 42% of
 * the broker main thread's system calls (687 of 1,630 for 30 durable jobs,
 * strace) and a system call costs 1-2 µs on this kind of VM. Defined in the
 * executable, this getpid is the one every shared library calls (the
 * dynamic linker binds libzmq's, OpenSSL's and libpq's references to it).
 *
 * Owns the cached pid. Must never: return a parent's pid in a child. A fork
 * clears the cache in the parent before it (prepare) and in the child after
 * it (child); the next call asks the kernel. The handlers are registered
 * before main (a constructor), so in a child they run before those the
 * libraries register later (OpenSSL's, at its first use). Not safe for
 * children made by raw clone() or vfork() that call getpid before exec:
 * neither process makes any (the supervisor uses fork, then exec). Plugins
 * loaded into the worker get this getpid too (plugins/README.md). */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static atomic_int cached; /* 0: ask the kernel */

static void forget(void)
{
    atomic_store(&cached, 0);
}

__attribute__((constructor)) static void register_forget(void)
{
    pthread_atfork(forget, NULL, forget);
}

pid_t getpid(void)
{
    pid_t pid = (pid_t)atomic_load(&cached);
    if (pid) return pid;
    pid = (pid_t)syscall(SYS_getpid);
    atomic_store(&cached, (int)pid);
    return pid;
}
