// Attention of one query over a KV cache (the decode step's attention; GQA: query head h reads
// key/value head h / (heads / kv_heads)). Plain C that the compiler vectorises: the scores are
// ck_dot8 products, the output a sum of value rows weighted by the softmax.
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
