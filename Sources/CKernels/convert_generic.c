// Portable element conversions: the readable versions the fast paths are tested against.
#include "CKernels.h"
#include <string.h>

static inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float ck_half_to_float_scalar(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t mant = h & 0x3FFu;
    if (exp == 0) {
        if (mant == 0) return bits_f32(sign);
        // Subnormal: value = mant * 2^-24, exactly representable in f32.
        float v = (float)mant * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    if (exp == 31) return bits_f32(sign | 0x7F800000u | (mant << 13));
    return bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}

uint16_t ck_float_to_half_scalar(float f) {
    uint32_t u = f32_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t abs = u & 0x7FFFFFFFu;
    if (abs > 0x7F800000u) return (uint16_t)(sign | 0x7E00u | ((abs >> 13) & 0x3FFu)); // NaN, quiet
    if (abs >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u); // >= 65520 rounds to infinity
    if (abs < 0x38800000u) {
        // Result is subnormal or zero: round abs / 2^-24 to nearest even integer.
        if (abs < 0x33000000u) return (uint16_t)sign; // < 2^-25: rounds to zero (tie at 2^-25 -> even 0)
        uint32_t e = abs >> 23;
        uint32_t m = (abs & 0x7FFFFFu) | 0x800000u;
        uint32_t shift = 126u - e; // 14 + 23 - (e - 127) - 10 ... value = m * 2^(e-150); /2^-24 -> m*2^(e-126)
        uint32_t q = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (q & 1u))) q += 1u;
        return (uint16_t)(sign | q);
    }
    // Normal: rebias exponent and round the 13 dropped mantissa bits to nearest even.
    uint32_t r = abs + 0x0FFFu + ((abs >> 13) & 1u);
    r -= (uint32_t)(127 - 15) << 23;
    return (uint16_t)(sign | (r >> 13));
}

void ck_f16_to_f32_generic(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = ck_half_to_float_scalar(src[i]);
}

void ck_bf16_to_f32_generic(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = bits_f32((uint32_t)src[i] << 16);
}

void ck_f32_to_bf16_generic(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u = f32_bits(src[i]);
        if ((u & 0x7FFFFFFFu) > 0x7F800000u) { dst[i] = 0x7FC0u; continue; }
        dst[i] = (uint16_t)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
    }
}

void ck_f32_to_f16_generic(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = ck_float_to_half_scalar(src[i]);
}

static float f8e4m3_table[256];
static int f8e4m3_ready = 0;

static void f8e4m3_init(void) {
    for (int c = 0; c < 256; c++) {
        int s = c >> 7, e = (c >> 3) & 0xF, m = c & 7;
        float v;
        if (e == 15 && m == 7) {
            // NaN: PyTorch keeps the sign and moves the mantissa bits to the top (0x7FF00000).
            f8e4m3_table[c] = bits_f32(s ? 0xFFF00000u : 0x7FF00000u);
            continue;
        }
        if (e == 0) v = (float)m / 8.0f / 64.0f;
        else {
            v = 1.0f + (float)m / 8.0f;
            int p = e - 7;
            while (p > 0) { v *= 2.0f; p--; }
            while (p < 0) { v *= 0.5f; p++; }
        }
        f8e4m3_table[c] = s ? -v : v;
    }
    __atomic_store_n(&f8e4m3_ready, 1, __ATOMIC_RELEASE);
}

void ck_f8e4m3_to_f32(const uint8_t *src, float *dst, size_t n) {
    // The table is deterministic, so a racy double initialisation writes identical values.
    if (!__atomic_load_n(&f8e4m3_ready, __ATOMIC_ACQUIRE)) f8e4m3_init();
    for (size_t i = 0; i < n; i++) dst[i] = f8e4m3_table[src[i]];
}

uint64_t ck_touch_bytes(const void *src, size_t n) {
    const unsigned char *p = (const unsigned char *)src;
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w0, w1, w2, w3;
        memcpy(&w0, p + i, 8); memcpy(&w1, p + i + 8, 8);
        memcpy(&w2, p + i + 16, 8); memcpy(&w3, p + i + 24, 8);
        a0 += w0; a1 += w1; a2 += w2; a3 += w3;
    }
    for (; i < n; i++) a0 += p[i];
    return a0 + a1 + a2 + a3;
}

uint8_t ck_float_to_f8e4m3_scalar(float f) {
    uint32_t u = f32_bits(f);
    uint8_t sign = (uint8_t)((u >> 24) & 0x80u);
    uint32_t abs = u & 0x7FFFFFFFu;
    if (abs > 0x7F800000u) return 0x7F;  // NaN
    if (abs >= 0x43E00000u) return sign | 0x7E;  // >= 448 (and infinity) saturate to 448
    if (abs < 0x3C800000u) {
        // Below 2^-6: subnormal E4M3, a multiple of 2^-9; round abs·512 to nearest even.
        float scaled = bits_f32(abs) * 512.0f;  // exact: a power-of-two scale
        uint32_t q = (uint32_t)scaled;
        float rem = scaled - (float)q;
        if (rem > 0.5f || (rem == 0.5f && (q & 1u))) q += 1u;
        return sign | (uint8_t)q;  // q == 8 is the smallest normal, code 0x08, as it should be
    }
    // Normal: keep 3 mantissa bits, round the dropped 20 to nearest even, rebias 127 -> 7.
    uint32_t r = abs + 0x7FFFFu + ((abs >> 20) & 1u);
    uint32_t e = (r >> 23) - 127u + 7u;
    uint32_t m = (r >> 20) & 7u;
    return sign | (uint8_t)((e << 3) | m);
}

void ck_f32_to_f8e4m3(const float *src, uint8_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = ck_float_to_f8e4m3_scalar(src[i]);
}

size_t ck_first_nonfinite(const float *src, size_t n) {
    // Branch-free OR over 64-value chunks so the compiler vectorises it; the exact index is found
    // by a scalar pass only in the chunk that has one.
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        uint32_t any = 0;
        for (int j = 0; j < 64; j++) {
            uint32_t u;
            memcpy(&u, src + i + j, 4);
            any |= (uint32_t)((u & 0x7F800000u) == 0x7F800000u);
        }
        if (any) break;
    }
    for (; i < n; i++) {
        if ((f32_bits(src[i]) & 0x7F800000u) == 0x7F800000u) return i;
    }
    return n;
}

void ck_error_sums(const float *approx, const float *exact, size_t n, double *sse, double *ssx) {
    // Eight independent float lanes per 4096-value block (vectorisable without reordering any
    // single lane's sum), folded into doubles: exact enough for an error report.
    double e = 0.0, x = 0.0;
    size_t i = 0;
    while (i < n) {
        size_t end = i + 4096 < n ? i + 4096 : n;
        float be[8] = {0}, bx[8] = {0};
        for (; i + 8 <= end; i += 8) {
            for (int j = 0; j < 8; j++) {
                float d = approx[i + j] - exact[i + j];
                be[j] += d * d;
                bx[j] += exact[i + j] * exact[i + j];
            }
        }
        for (; i < end; i++) {
            float d = approx[i] - exact[i];
            be[0] += d * d;
            bx[0] += exact[i] * exact[i];
        }
        for (int j = 0; j < 8; j++) {
            e += be[j];
            x += bx[j];
        }
    }
    *sse += e;
    *ssx += x;
}

uint64_t ck_touch_streams(const void *src, size_t stride, size_t streams, size_t n) {
    // `streams` sequential streams `stride` bytes apart, read 32 bytes from each in turn: the
    // pattern of the decode kernels that walk several rows at once.
    const unsigned char *p = (const unsigned char *)src;
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (size_t s = 0; s < streams; s++) {
            uint64_t w0, w1, w2, w3;
            const unsigned char *q = p + s * stride + i;
            memcpy(&w0, q, 8); memcpy(&w1, q + 8, 8); memcpy(&w2, q + 16, 8); memcpy(&w3, q + 24, 8);
            a0 += w0; a1 += w1; a2 += w2; a3 += w3;
        }
    }
    for (size_t s = 0; s < streams; s++) {
        for (size_t j = i; j < n; j++) a0 += p[s * stride + j];
    }
    return a0 + a1 + a2 + a3;
}

void ck_apply_block_scales(float *values, size_t rows, size_t cols, const float *scales, size_t block) {
    const size_t columns = (cols + block - 1) / block;
    for (size_t i = 0; i < rows; i++) {
        const float *row_scales = scales + (i / block) * columns;
        float *row = values + i * cols;
        for (size_t j = 0; j < cols; j++) row[j] *= row_scales[j / block];
    }
}
