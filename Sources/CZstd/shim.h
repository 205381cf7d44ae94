// zstd's API is plain C and callable from Swift as is; the shim only pins the header and
// exposes the version for the smoke test.
#ifndef HASSKIT_CZSTD_SHIM_H
#define HASSKIT_CZSTD_SHIM_H
#include <zstd.h>
static inline unsigned czstd_version_number(void) { return ZSTD_versionNumber(); }
#endif
