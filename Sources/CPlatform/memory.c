#include "CPlatform.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int cplatform_keep_freed_memory(size_t mmap_threshold, size_t trim_threshold) {
#if defined(__GLIBC__)
    // Setting either turns off glibc's adjustment of both, so both are set.
    return mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, (int)trim_threshold) == 1;
#else
    (void)mmap_threshold; (void)trim_threshold;
    return 0;
#endif
}
