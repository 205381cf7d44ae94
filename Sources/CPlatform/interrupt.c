// Removing temporary files when the process is interrupted (SIGINT, SIGTERM, SIGHUP).
//
// Writers register their temporary path; the handler unlinks every registered path (unlink is
// async-signal-safe), restores the default action and re-raises the signal, so the process still
// dies with the usual status. SIGKILL cannot be caught: hasskit removes such leftovers on the
// next run instead (AtomicFileWriter.removeStalePartials).
#include "CPlatform.h"
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>

#define SLOTS 64
static char *volatile slots[SLOTS];
static volatile sig_atomic_t installed = 0;

static void on_signal(int sig) {
    for (int i = 0; i < SLOTS; i++) {
        char *p = slots[i];
        if (p) unlink(p);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

int cplatform_register_temporary(const char *path) {
    char *copy = strdup(path);
    if (!copy) return -1;
    for (int i = 0; i < SLOTS; i++) {
        if (__sync_bool_compare_and_swap(&slots[i], (char *)0, copy)) return i;
    }
    free(copy);
    return -1;  // table full: the file is still removed on the next run
}

void cplatform_unregister_temporary(int slot) {
    if (slot < 0 || slot >= SLOTS) return;
    char *p = __sync_lock_test_and_set(&slots[slot], (char *)0);
    free(p);
}

int cplatform_create_registered(const char *path, int flags, int mode, int *slot) {
    // Block the cleanup signals between creating the file and registering it, so an interrupt
    // can never see the file without knowing to remove it.
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    int fd = open(path, flags, mode);
    *slot = fd >= 0 ? cplatform_register_temporary(path) : -1;
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return fd;
}

void cplatform_install_interrupt_cleanup(void) {
    if (__sync_lock_test_and_set(&installed, 1)) return;
    int signals[] = {SIGINT, SIGTERM, SIGHUP};
    // A parent may hand us these signals blocked (posix_spawn copies the spawning thread's mask);
    // unblock them so they reach the handler instead of staying pending until exit.
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < 3; i++) sigaddset(&set, signals[i]);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    for (int i = 0; i < 3; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        struct sigaction old;
        // Respect an inherited "ignore" (e.g. nohup): only take over default handling.
        if (sigaction(signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(signals[i], &sa, NULL);
    }
}
