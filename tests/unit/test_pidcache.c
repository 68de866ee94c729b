/* test_pidcache.c — common/pidcache.c, linked into this test as into the
 * broker and the worker: getpid() is the kernel's pid; it is the getpid the
 * shared libraries call (the dynamic linker resolves "getpid" to it, as it
 * does for libzmq's fork check); a forked child gets its own pid, not the
 * cached parent's (fails without the fork handlers), and the parent keeps
 * its own; a grandchild too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t kernel_pid(void)
{
    return (pid_t)syscall(SYS_getpid);
}

static void test_parent(void **state)
{
    (void)state;
    assert_int_equal(getpid(), kernel_pid());
    assert_int_equal(getpid(), kernel_pid()); /* cached now: still right */
}

static void test_shared_libraries_call_it(void **state)
{
    (void)state;
    pid_t (*found)(void) = (pid_t(*)(void))dlsym(RTLD_DEFAULT, "getpid");
    assert_non_null(found);
    assert_ptr_equal((void *)found, (void *)getpid);
}

/* In the child: exit 0 when its getpid is its own (and, depth > 0, so is a
 * grandchild's). */
static int child_checks(int depth)
{
    if (getpid() != kernel_pid()) return 1;
    if (depth == 0) return 0;
    pid_t pid = fork();
    if (pid == 0) _exit(child_checks(depth - 1));
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return 2;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}

static void test_fork(void **state)
{
    (void)state;
    pid_t parent = getpid(); /* cached */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(child_checks(1));
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(getpid(), parent);
    assert_int_equal(getpid(), kernel_pid());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parent),
        cmocka_unit_test(test_shared_libraries_call_it),
        cmocka_unit_test(test_fork),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
