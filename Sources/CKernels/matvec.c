// Matrix-vector products over stored (possibly quantized) rows: the decode step of the engine.
// Each row is decoded into a scratch buffer and dotted with x; the dot product vectorises.
// Reference-grade and correct for every type; fused quantized dot kernels are the next step.
#include "CKernels.h"
#include <string.h>

size_t ck_row_bytes(int type, size_t cols) {
    switch (type) {
    case CK_TYPE_F32: return cols * 4;
    case CK_TYPE_F16:
    case CK_TYPE_BF16: return cols * 2;
    case CK_TYPE_Q8_0: return cols / 32 * 34;
    case CK_TYPE_Q4_0: return cols / 32 * 18;
    case CK_TYPE_Q4_K: return cols / 256 * 144;
    case CK_TYPE_Q6_K: return cols / 256 * 210;
    default: return 0;
    }
}

void ck_dequantize_row(int type, const void *src, float *dst, size_t cols) {
    switch (type) {
    case CK_TYPE_F32: memcpy(dst, src, cols * 4); break;
    case CK_TYPE_F16: ck_f16_to_f32((const uint16_t *)src, dst, cols); break;
    case CK_TYPE_BF16: ck_bf16_to_f32((const uint16_t *)src, dst, cols); break;
    case CK_TYPE_Q8_0: ck_dequantize_q8_0(src, dst, cols); break;
    case CK_TYPE_Q4_0: ck_dequantize_q4_0(src, dst, cols); break;
    case CK_TYPE_Q4_K: ck_dequantize_q4_k(src, dst, cols); break;
    case CK_TYPE_Q6_K: ck_dequantize_q6_k(src, dst, cols); break;
    default: memset(dst, 0, cols * 4); break;
    }
}

static float dot(const float *a, const float *b, size_t n) {
    // Eight independent accumulators: vectorisable without -ffast-math.
    float acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    }
    float s = 0;
    for (; i < n; i++) s += a[i] * b[i];
    for (int j = 0; j < 8; j++) s += acc[j];
    return s;
}

void ck_matvec_rows(int type, const void *w, size_t cols, size_t row_begin, size_t row_end,
                    const float *x, float *y, float *scratch) {
    const size_t stride = ck_row_bytes(type, cols);
    const unsigned char *base = (const unsigned char *)w;
    for (size_t r = row_begin; r < row_end; r++) {
        const void *row = base + r * stride;
        if (type == CK_TYPE_F32) {
            y[r] = dot((const float *)row, x, cols);
        } else {
            ck_dequantize_row(type, row, scratch, cols);
            y[r] = dot(scratch, x, cols);
        }
    }
}
