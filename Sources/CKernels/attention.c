// Attention over a KV cache (GQA: query head h reads key/value head h / (heads / kv_heads)).
// - ck_attention: one query over any list of slots (a draft tree's mask).
// - ck_attention_causal: a run of consecutive causal queries (a prompt, a decode step), tiled so
//   that each block of keys and values is read once for the whole run while it sits in the
//   core's cache, instead of once per query.
// Both are built from the same three steps, each with a readable C version and an AVX2 version
// that performs the same float operations in the same order (no fused multiply-add), so every
// query gets the same bits from either kernel and on either path (a verified tree reproduces
// plain decoding; HASSKIT_KERNELS=reference changes nothing):
//   1. scores: ck_dot8(q, k) · scale;
//   2. softmax: e = exp(s − max) by ck_expf (exp_approx.h), summed in eight lanes as ck_dot8 sums;
//   3. output: o += (e / sum) · v, value row after value row.
#include "kernels_internal.h"
#include "exp_approx.h"
#include <math.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

// MARK: exp (exp_approx.h)

float ck_expf(float x) { return exp_c(x); }

// MARK: Readable steps

/// scores[j] = dot8(q, key of slot j) · scale for j in [j0, j1).
static void scores_c(const float *q, const float *keys, size_t key_stride, const ptrdiff_t *slots, size_t j0, size_t j1,
                     size_t head_dim, float scale, float *scores) {
    for (size_t j = j0; j < j1; j++) {
        const size_t p = slots ? (size_t)slots[j] : j;
        scores[j] = ck_dot8(q, keys + p * key_stride, head_dim) * scale;
    }
}

/// scores[j] = exp(scores[j] − max) for j < count; returns their sum, in eight lanes.
static float softmax_c(float *scores, size_t count) {
    float top = -INFINITY;
    for (size_t j = 0; j < count; j++) top = fmaxf(top, scores[j]);
    float acc[8] = {0};
    size_t j = 0;
    for (; j + 8 <= count; j += 8) {
        for (int l = 0; l < 8; l++) {
            scores[j + l] = ck_expf(scores[j + l] - top);
            acc[l] += scores[j + l];
        }
    }
    float sum = 0;
    for (; j < count; j++) {
        scores[j] = ck_expf(scores[j] - top);
        sum += scores[j];
    }
    for (int l = 0; l < 8; l++) sum += acc[l];
    return sum;
}

/// o += (scores[j] / sum) · value of slot j, for j in [j0, j1) in order.
static void accumulate_c(float *o, const float *values, size_t value_stride, const ptrdiff_t *slots, size_t j0, size_t j1,
                         size_t head_dim, const float *scores, float sum) {
    for (size_t j = j0; j < j1; j++) {
        const size_t p = slots ? (size_t)slots[j] : j;
        const float w = scores[j] / sum, *v = values + p * value_stride;
        for (size_t i = 0; i < head_dim; i++) o[i] += w * v[i];
    }
}

// MARK: AVX2 steps (the same operations, eight lanes at a time)

#if defined(__x86_64__) || defined(__i386__)
#define AVX2_INLINE __attribute__((target("avx2"), always_inline)) static inline
// The steps are called from code compiled for both paths, so they are not forced inline.
#define AVX2_STEP __attribute__((target("avx2"))) static

/// The horizontal end of dot8_avx2: the tail's products, then the eight lanes in order.
AVX2_INLINE float dot8_finish(__m256 acc, const float *a, const float *b, size_t from, size_t n) {
    float s = 0;
    for (size_t i = from; i < n; i++) s += a[i] * b[i];
    float lanes[8];
    _mm256_storeu_ps(lanes, acc);
    for (int l = 0; l < 8; l++) s += lanes[l];
    return s;
}

AVX2_INLINE float dot8_avx2(const float *a, const float *b, size_t n) {
    __m256 acc = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    return dot8_finish(acc, a, b, i, n);
}

AVX2_STEP void scores_avx2(const float *q, const float *keys, size_t key_stride, const ptrdiff_t *slots, size_t j0, size_t j1,
                             size_t head_dim, float scale, float *scores) {
    // Four keys at a time: four independent chains, each summed as dot8_avx2 sums one key.
    size_t j = j0;
    for (; j + 4 <= j1; j += 4) {
        const float *k[4];
        for (int u = 0; u < 4; u++) k[u] = keys + (slots ? (size_t)slots[j + u] : j + u) * key_stride;
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        size_t i = 0;
        for (; i + 8 <= head_dim; i += 8) {
            const __m256 qv = _mm256_loadu_ps(q + i);
            for (int u = 0; u < 4; u++) acc[u] = _mm256_add_ps(acc[u], _mm256_mul_ps(qv, _mm256_loadu_ps(k[u] + i)));
        }
        for (int u = 0; u < 4; u++) scores[j + u] = dot8_finish(acc[u], q, k[u], i, head_dim) * scale;
    }
    for (; j < j1; j++) {
        const size_t p = slots ? (size_t)slots[j] : j;
        scores[j] = dot8_avx2(q, keys + p * key_stride, head_dim) * scale;
    }
}

AVX2_STEP float softmax_avx2(float *scores, size_t count) {
    float top = -INFINITY;
    for (size_t j = 0; j < count; j++) top = fmaxf(top, scores[j]);
    const __m256 t = _mm256_set1_ps(top);
    __m256 acc = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + 8 <= count; j += 8) {
        const __m256 e = exp_avx2(_mm256_sub_ps(_mm256_loadu_ps(scores + j), t));
        _mm256_storeu_ps(scores + j, e);
        acc = _mm256_add_ps(acc, e);
    }
    float sum = 0;
    for (; j < count; j++) {
        scores[j] = ck_expf(scores[j] - top);
        sum += scores[j];
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, acc);
    for (int l = 0; l < 8; l++) sum += lanes[l];
    return sum;
}

AVX2_STEP void accumulate_avx2(float *o, const float *values, size_t value_stride, const ptrdiff_t *slots, size_t j0,
                                 size_t j1, size_t head_dim, const float *scores, float sum) {
    if (head_dim % 8 != 0) {
        accumulate_c(o, values, value_stride, slots, j0, j1, head_dim, scores, sum);
        return;
    }
    // Each weight divided once per run of 64 rows, not once per eight columns (a division per
    // row and column block was most of the time at head_dim 128); the same quotients, the same bits.
    float weights[64];
    for (size_t r0 = j0; r0 < j1; r0 += 64) {
        const size_t r1 = r0 + 64 < j1 ? r0 + 64 : j1;
        for (size_t j = r0; j < r1; j++) weights[j - r0] = scores[j] / sum;
        // Eight column blocks at a time: eight independent sums, each still row after row (one
        // block at a time waited on the previous row's add at every row).
        size_t i = 0;
        for (; i + 64 <= head_dim; i += 64) {
            __m256 acc[8];
            for (int c = 0; c < 8; c++) acc[c] = _mm256_loadu_ps(o + i + 8 * c);
            for (size_t j = r0; j < r1; j++) {
                const size_t p = slots ? (size_t)slots[j] : j;
                const __m256 w = _mm256_set1_ps(weights[j - r0]);
                const float *v = values + p * value_stride + i;
                for (int c = 0; c < 8; c++) acc[c] = _mm256_add_ps(acc[c], _mm256_mul_ps(w, _mm256_loadu_ps(v + 8 * c)));
            }
            for (int c = 0; c < 8; c++) _mm256_storeu_ps(o + i + 8 * c, acc[c]);
        }
        for (; i < head_dim; i += 8) {
            __m256 acc = _mm256_loadu_ps(o + i);
            for (size_t j = r0; j < r1; j++) {
                const size_t p = slots ? (size_t)slots[j] : j;
                acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_set1_ps(weights[j - r0]), _mm256_loadu_ps(values + p * value_stride + i)));
            }
            _mm256_storeu_ps(o + i, acc);
        }
    }
}
#endif

// MARK: Kernels

/// Keys (and values) per tile: 64 positions of a 64-wide head are 16 KiB, in L1 with the queries.
#define KEY_TILE 64
/// Queries per call of the causal kernel's body, whose per-query sums live on the stack: a longer
/// run is cut into runs of this many (each query's arithmetic does not depend on the cut).
#define QUERY_RUN 64

/// Both kernels, written once over the steps of one path (`fast`: AVX2; a constant after inlining).
__attribute__((always_inline)) static inline void attention_one(int fast, const float *q, const float *keys, const float *values,
                                                                 size_t key_stride, size_t value_stride, const ptrdiff_t *slots,
                                                                 size_t count, size_t heads, size_t kv_heads, size_t head_dim,
                                                                 float scale, float *out, float *scores) {
    const size_t group = heads / kv_heads;
    for (size_t h = 0; h < heads; h++) {
        const size_t kv = (h / group) * head_dim;
        const float *qh = q + h * head_dim;
        float *o = out + h * head_dim;
        for (size_t i = 0; i < head_dim; i++) o[i] = 0;
#if defined(__x86_64__) || defined(__i386__)
        if (fast) {
            scores_avx2(qh, keys + kv, key_stride, slots, 0, count, head_dim, scale, scores);
            const float sum = softmax_avx2(scores, count);
            accumulate_avx2(o, values + kv, value_stride, slots, 0, count, head_dim, scores, sum);
            continue;
        }
#endif
        scores_c(qh, keys + kv, key_stride, slots, 0, count, head_dim, scale, scores);
        const float sum = softmax_c(scores, count);
        accumulate_c(o, values + kv, value_stride, slots, 0, count, head_dim, scores, sum);
    }
}

__attribute__((always_inline)) static inline void attention_causal(int fast, const float *q, size_t q_stride, size_t nq, size_t count0,
                                                                    const float *keys, const float *values, size_t key_stride,
                                                                    size_t value_stride, size_t heads, size_t kv_heads,
                                                                    size_t head_dim, float scale, float *out, size_t out_stride,
                                                                    float *scores) {
    const size_t group = heads / kv_heads, longest = count0 + nq - 1;
    float sums[QUERY_RUN];
    for (size_t h = 0; h < heads; h++) {
        const size_t kv = (h / group) * head_dim;
        // Scores, a tile of keys at a time for every query: query t's row holds count0 + t.
        for (size_t j0 = 0; j0 < longest; j0 += KEY_TILE) {
            const size_t j1 = j0 + KEY_TILE < longest ? j0 + KEY_TILE : longest;
            for (size_t t = 0; t < nq; t++) {
                const size_t end = j1 < count0 + t ? j1 : count0 + t;
                if (end <= j0) continue;
                const float *qh = q + t * q_stride + h * head_dim;
#if defined(__x86_64__) || defined(__i386__)
                if (fast) {
                    scores_avx2(qh, keys + kv, key_stride, NULL, j0, end, head_dim, scale, scores + t * longest);
                    continue;
                }
#endif
                scores_c(qh, keys + kv, key_stride, NULL, j0, end, head_dim, scale, scores + t * longest);
            }
        }
        for (size_t t = 0; t < nq; t++) {
#if defined(__x86_64__) || defined(__i386__)
            sums[t] = fast ? softmax_avx2(scores + t * longest, count0 + t) : softmax_c(scores + t * longest, count0 + t);
#else
            sums[t] = softmax_c(scores + t * longest, count0 + t);
#endif
            float *o = out + t * out_stride + h * head_dim;
            for (size_t i = 0; i < head_dim; i++) o[i] = 0;
        }
        // Outputs, a tile of values at a time for every query, each query's rows in order.
        for (size_t j0 = 0; j0 < longest; j0 += KEY_TILE) {
            const size_t j1 = j0 + KEY_TILE < longest ? j0 + KEY_TILE : longest;
            for (size_t t = 0; t < nq; t++) {
                const size_t end = j1 < count0 + t ? j1 : count0 + t;
                if (end <= j0) continue;
                float *o = out + t * out_stride + h * head_dim;
#if defined(__x86_64__) || defined(__i386__)
                if (fast) {
                    accumulate_avx2(o, values + kv, value_stride, NULL, j0, end, head_dim, scores + t * longest, sums[t]);
                    continue;
                }
#endif
                accumulate_c(o, values + kv, value_stride, NULL, j0, end, head_dim, scores + t * longest, sums[t]);
            }
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static void attention_one_avx2(const float *q, const float *keys, const float *values, size_t key_stride,
                                                                size_t value_stride, const ptrdiff_t *slots, size_t count, size_t heads,
                                                                size_t kv_heads, size_t head_dim, float scale, float *out,
                                                                float *scores) {
    attention_one(1, q, keys, values, key_stride, value_stride, slots, count, heads, kv_heads, head_dim, scale, out, scores);
}

__attribute__((target("avx2"))) static void attention_causal_avx2(const float *q, size_t q_stride, size_t nq, size_t count0,
                                                                   const float *keys, const float *values, size_t key_stride,
                                                                   size_t value_stride, size_t heads, size_t kv_heads,
                                                                   size_t head_dim, float scale, float *out, size_t out_stride,
                                                                   float *scores) {
    attention_causal(1, q, q_stride, nq, count0, keys, values, key_stride, value_stride, heads, kv_heads, head_dim, scale, out,
                     out_stride, scores);
}
#endif

static int attention_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
    return (ck_cpu_features() & CK_CPU_AVX2) != 0;
#else
    return 0;
#endif
}

void ck_attention(const float *q, const float *keys, const float *values, size_t key_stride, size_t value_stride,
                  const ptrdiff_t *slots, size_t count, size_t heads, size_t kv_heads, size_t head_dim, float scale,
                  float *out, float *scores) {
#if defined(__x86_64__) || defined(__i386__)
    if (attention_avx2()) {
        attention_one_avx2(q, keys, values, key_stride, value_stride, slots, count, heads, kv_heads, head_dim, scale, out, scores);
        return;
    }
#endif
    attention_one(0, q, keys, values, key_stride, value_stride, slots, count, heads, kv_heads, head_dim, scale, out, scores);
}

void ck_attention_causal(const float *q, size_t q_stride, size_t nq, size_t count0, const float *keys, const float *values,
                         size_t key_stride, size_t value_stride, size_t heads, size_t kv_heads, size_t head_dim, float scale,
                         float *out, size_t out_stride, float *scores) {
    for (size_t t0 = 0; t0 < nq; t0 += QUERY_RUN) {
        const size_t m = nq - t0 < QUERY_RUN ? nq - t0 : QUERY_RUN;
        const float *qt = q + t0 * q_stride;
        float *ot = out + t0 * out_stride;
#if defined(__x86_64__) || defined(__i386__)
        if (attention_avx2()) {
            attention_causal_avx2(qt, q_stride, m, count0 + t0, keys, values, key_stride, value_stride, heads, kv_heads, head_dim,
                                  scale, ot, out_stride, scores);
            continue;
        }
#endif
        attention_causal(0, qt, q_stride, m, count0 + t0, keys, values, key_stride, value_stride, heads, kv_heads, head_dim, scale,
                         ot, out_stride, scores);
    }
}

void ck_attention_causal_reference(const float *q, size_t q_stride, size_t nq, size_t count0, const float *keys,
                                   const float *values, size_t key_stride, size_t value_stride, size_t heads, size_t kv_heads,
                                   size_t head_dim, float scale, float *out, size_t out_stride, float *scores) {
    for (size_t t0 = 0; t0 < nq; t0 += QUERY_RUN) {
        const size_t m = nq - t0 < QUERY_RUN ? nq - t0 : QUERY_RUN;
        attention_causal(0, q + t0 * q_stride, q_stride, m, count0 + t0, keys, values, key_stride, value_stride, heads, kv_heads,
                         head_dim, scale, out + t0 * out_stride, out_stride, scores);
    }
}
