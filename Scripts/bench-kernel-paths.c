// Every SIMD path of the 8-bit-activation products on this CPU, side by side in one run: one
// row-interleaved matrix of random weights (quantized by hasskit's own quantizers) times n
// quantized inputs, on one thread, best of 5 calls in each of 3 alternating rounds (the last
// round printed, with each path's ratio to AVX2). Paths the CPU lacks are named and skipped;
// "avx-vnni (evex)" is the AVX-VNNI kernels' source in the AVX512-VL encoding, which is how
// their speed shows on an AVX-512 CPU without AVX-VNNI.
//   S=Sources/CKernels; clang -O2 -I$S -I$S/include Scripts/bench-kernel-paths.c $S/*.c -lm -o /tmp/kpaths
//   /tmp/kpaths TYPE ROWS COLS N [MB]     (TYPE: q4_0_r8, q8_0_r8, q4_k_r8, q6_k_r8)
// A matrix of a few MB stays in the core's cache and shows the kernels' arithmetic; one of
// 50 MB or more shows the memory's share (and varies with the host's bandwidth). With MB, the
// matrix is copied until the copies fill MB megabytes and each timed call runs over all of them,
// one after the other, as decoding runs over a model's matrices: every matrix streams from memory
// at its own size, and the rate is printed in GB/s.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "CKernels.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float uniform(void) { return (float)(rand() / (RAND_MAX + 1.0) * 2 - 1); }

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s TYPE ROWS COLS N [MB]\n", argv[0]);
        return 64;
    }
    const struct { const char *name; int type, base; void (*quantize)(const float *, void *, size_t); } types[] = {
        {"q4_0_r8", CK_TYPE_Q4_0_R8, CK_TYPE_Q4_0, ck_quantize_q4_0}, {"q8_0_r8", CK_TYPE_Q8_0_R8, CK_TYPE_Q8_0, ck_quantize_q8_0},
        {"q4_k_r8", CK_TYPE_Q4_K_R8, CK_TYPE_Q4_K, ck_quantize_q4_k}, {"q6_k_r8", CK_TYPE_Q6_K_R8, CK_TYPE_Q6_K, ck_quantize_q6_k},
    };
    int t = -1;
    for (int i = 0; i < 4; i++) if (strcmp(argv[1], types[i].name) == 0) t = i;
    const size_t rows = strtoul(argv[2], NULL, 10), cols = strtoul(argv[3], NULL, 10), n = strtoul(argv[4], NULL, 10);
    if (t < 0 || rows % 8 || cols % 256 || n == 0) {
        fprintf(stderr, "TYPE is one of q4_0_r8 q8_0_r8 q4_k_r8 q6_k_r8; ROWS a multiple of 8, COLS of 256, N > 0\n");
        return 64;
    }
    const size_t row_bytes = ck_row_bytes(types[t].base, cols), bytes = rows * row_bytes;
    const size_t stream_mb = argc == 6 ? strtoul(argv[5], NULL, 10) : 0;
    const size_t copies = stream_mb ? (stream_mb * 1000000 + bytes - 1) / bytes : 1;
    unsigned char *plain = malloc(bytes), *w = malloc(bytes * copies);
    float *row = malloc(cols * sizeof(float)), *x = malloc(n * cols * sizeof(float)), *y = malloc(n * rows * sizeof(float));
    unsigned char *xq = malloc(n * ck_q8act_bytes(cols));
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) row[c] = uniform() * 0.02f;
        types[t].quantize(row, plain + r * row_bytes, cols);
    }
    ck_interleave_rows(types[t].type, plain, rows, cols, w);
    for (size_t k = 1; k < copies; k++) memcpy(w + k * bytes, w, bytes);
    for (size_t i = 0; i < n * cols; i++) x[i] = uniform();
    for (size_t i = 0; i < n; i++) ck_quantize_q8act(x + i * cols, cols, xq + i * ck_q8act_bytes(cols));
    const struct { const char *name; int code; } paths[] = {
        {"avx2", CK_PATH_AVX2}, {"avx-vnni", CK_PATH_AVX_VNNI}, {"avx-vnni (evex)", CK_PATH_AVX_VNNI_EVEX}, {"avx512-vnni", CK_PATH_AVX512_VNNI},
    };
    double best[4] = {0};
    for (int round = 0; round < 3; round++) {
        for (int p = 0; p < 4; p++) {
            best[p] = 1e9;
            for (int k = 0; k < 5; k++) {
                const double t0 = now();
                int ran = 1;
                for (size_t c = 0; c < copies && ran; c++)
                    ran = ck_matmul_rows_q8act_path(paths[p].code, types[t].type, w + c * bytes, cols, 0, rows, xq, n, y, rows);
                if (!ran) {
                    best[p] = 0;
                    break;
                }
                const double s = now() - t0;
                if (s < best[p]) best[p] = s;
            }
        }
    }
    printf("%s %zu x %zu (%.1f MB", types[t].name, rows, cols, bytes / 1e6);
    if (copies > 1) printf(", %zu copies streamed", copies);
    printf("), %zu input%s, one thread:\n", n, n == 1 ? "" : "s");
    for (int p = 0; p < 4; p++) {
        if (best[p] == 0) printf("  %-16s this CPU lacks it\n", paths[p].name);
        else printf("  %-16s %8.3f ms  %.2fx avx2  %5.1f GB/s\n", paths[p].name, best[p] * 1e3, best[0] / best[p],
                    bytes * copies / best[p] / 1e9);
    }
    return 0;
}
