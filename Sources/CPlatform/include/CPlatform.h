// System calls that Swift's Glibc module does not expose (they need _GNU_SOURCE).
#ifndef HASSKIT_CPLATFORM_H
#define HASSKIT_CPLATFORM_H
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

#endif
