// OpenBLAS's cblas.h; the include path comes from pkg-config (openblas-pthread on Debian).
#ifndef HASSKIT_COPENBLAS_SHIM_H
#define HASSKIT_COPENBLAS_SHIM_H
#include <cblas.h>
#endif
