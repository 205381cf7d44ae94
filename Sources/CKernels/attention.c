// Attention over a KV cache (GQA: query head h reads key/value head h / (heads / kv_heads)).
// Plain C that the compiler vectorises: the scores are ck_dot8 products, the output a sum of value
// rows weighted by the softmax.
// - ck_attention: one query over any list of slots (a draft tree's mask).
// - ck_attention_causal: a run of consecutive causal queries (a prompt, a decode step), tiled so
//   that each block of keys and values is read once for the whole run while it sits in the
//   core's cache, instead of once per query. Each query's arithmetic is ck_attention's, in the
//   same order, so both give the same bits for the same slots (a verified tree reproduces plain
//   decoding).
#include "kernels_internal.h"
#include <math.h>

void ck_attention(const float *q, const float *keys, const float *values, size_t key_stride, size_t value_stride,
                  const ptrdiff_t *slots, size_t count, size_t heads, size_t kv_heads, size_t head_dim, float scale,
                  float *out, float *scores) {
    const size_t group = heads / kv_heads;
    for (size_t h = 0; h < heads; h++) {
        const size_t kv = (h / group) * head_dim;
        const float *qh = q + h * head_dim;
        float top = -INFINITY;
        for (size_t j = 0; j < count; j++) {
            const size_t p = slots ? (size_t)slots[j] : j;
            scores[j] = ck_dot8(qh, keys + p * key_stride + kv, head_dim) * scale;
            top = fmaxf(top, scores[j]);
        }
        float sum = 0;
        for (size_t j = 0; j < count; j++) {
            scores[j] = expf(scores[j] - top);
            sum += scores[j];
        }
        float *o = out + h * head_dim;
        for (size_t i = 0; i < head_dim; i++) o[i] = 0;
        for (size_t j = 0; j < count; j++) {
            const size_t p = slots ? (size_t)slots[j] : j;
            const float w = scores[j] / sum, *v = values + p * value_stride + kv;
            for (size_t i = 0; i < head_dim; i++) o[i] += w * v[i];
        }
    }
}

/// Keys (and values) per tile: 64 positions of a 64-wide head are 16 KiB, in L1 with the queries.
#define KEY_TILE 64

void ck_attention_causal(const float *q, size_t q_stride, size_t nq, size_t count0, const float *keys, const float *values,
                         size_t key_stride, size_t value_stride, size_t heads, size_t kv_heads, size_t head_dim, float scale,
                         float *out, size_t out_stride, float *scores) {
    const size_t group = heads / kv_heads, longest = count0 + nq - 1;
    for (size_t h = 0; h < heads; h++) {
        const size_t kv = (h / group) * head_dim;
        // Scores: query t's row of `scores` holds its count0 + t positions.
        for (size_t j0 = 0; j0 < longest; j0 += KEY_TILE) {
            const size_t j1 = j0 + KEY_TILE < longest ? j0 + KEY_TILE : longest;
            for (size_t t = 0; t < nq; t++) {
                const size_t count = count0 + t, end = j1 < count ? j1 : count;
                const float *qh = q + t * q_stride + h * head_dim;
                float *row = scores + t * longest;
                for (size_t j = j0; j < end; j++) row[j] = ck_dot8(qh, keys + j * key_stride + kv, head_dim) * scale;
            }
        }
        // Softmax per query, in ck_attention's order; the weights are left in `scores`.
        float sums[nq > 0 ? nq : 1];
        for (size_t t = 0; t < nq; t++) {
            float *row = scores + t * longest;
            const size_t count = count0 + t;
            float top = -INFINITY;
            for (size_t j = 0; j < count; j++) top = fmaxf(top, row[j]);
            float sum = 0;
            for (size_t j = 0; j < count; j++) {
                row[j] = expf(row[j] - top);
                sum += row[j];
            }
            sums[t] = sum;
            float *o = out + t * out_stride + h * head_dim;
            for (size_t i = 0; i < head_dim; i++) o[i] = 0;
        }
        // Outputs: each query's value rows added in position order, a tile of values at a time.
        for (size_t j0 = 0; j0 < longest; j0 += KEY_TILE) {
            const size_t j1 = j0 + KEY_TILE < longest ? j0 + KEY_TILE : longest;
            for (size_t t = 0; t < nq; t++) {
                const size_t count = count0 + t, end = j1 < count ? j1 : count;
                const float *row = scores + t * longest;
                float *o = out + t * out_stride + h * head_dim;
                for (size_t j = j0; j < end; j++) {
                    const float w = row[j] / sums[t], *v = values + j * value_stride + kv;
                    for (size_t i = 0; i < head_dim; i++) o[i] += w * v[i];
                }
            }
        }
    }
}
