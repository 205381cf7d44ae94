// System calls that Swift's Glibc module does not expose (they need _GNU_SOURCE).
#ifndef HASSKIT_CPLATFORM_H
#define HASSKIT_CPLATFORM_H
#include <stddef.h>
#include <stdint.h>

/// Starts asynchronous writeback of [offset, offset+count) of `fd` (Linux `sync_file_range` with
/// SYNC_FILE_RANGE_WRITE); returns 0, or -1 with errno set. A no-op returning 0 elsewhere.
int cplatform_start_writeback(int fd, int64_t offset, int64_t count);

/// Registers a temporary file to be unlinked if the process is interrupted; returns a slot for
/// `cplatform_unregister_temporary`, or -1 when the table is full.
int cplatform_register_temporary(const char *path);
void cplatform_unregister_temporary(int slot);

/// `open(path, flags, mode)` and registration as one step with respect to the cleanup signals;
/// returns the descriptor (or -1 with errno) and the slot in *slot.
int cplatform_create_registered(const char *path, int flags, int mode, int *slot);

/// Installs the SIGINT/SIGTERM/SIGHUP handler that unlinks registered files and re-raises.
void cplatform_install_interrupt_cleanup(void);

/// Sets glibc's malloc to serve blocks below `mmap_threshold` bytes from its heap and to give the
/// heap's free top back to the system only beyond `trim_threshold` bytes (mallopt); returns 1 when
/// both were set, 0 elsewhere (another C library, or a value glibc refuses).
int cplatform_keep_freed_memory(size_t mmap_threshold, size_t trim_threshold);

/// A pool of threads that spin briefly between jobs, then sleep (workers.c).
typedef struct cplatform_pool cplatform_pool;
typedef void (*cplatform_task)(void *context, size_t index);

/// Starts `workers` threads (the caller of cplatform_pool_run is one more); NULL when out of memory.
cplatform_pool *cplatform_pool_create(size_t workers);

/// Runs fn(context, i) for i in [0, tasks) on the workers and the calling thread; returns 1 when
/// all are done, or 0 at once, running nothing, when another job holds the pool.
int cplatform_pool_run(cplatform_pool *pool, size_t tasks, cplatform_task fn, void *context);

/// Stops and joins the workers, then frees the pool.
void cplatform_pool_destroy(cplatform_pool *pool);
#endif
