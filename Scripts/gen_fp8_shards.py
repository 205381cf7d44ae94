#!/usr/bin/env python3
"""Write a DeepSeek-V3-shaped FP8 checkpoint spread over many shards, the way DeepSeek-R1 ships
(163 files, FP8 E4M3 weights with F32 weight_scale_inv blocks, BF16 norms and embeddings), for
measuring that `hasskit convert` streams shard by shard with bounded memory.

    python3 Scripts/gen_fp8_shards.py OUT_DIR [--shards 163] [--hidden 1024] [--ffn 3072]

Layer i goes to shard i+1; the embedding to shard 1 and the head and final norm to the last. All
layers are dense (first_k_dense_replace = num_hidden_layers) with MLA attention. The values are
random (no NaN codes): only the layout and the sizes matter.
"""
import argparse
import json
import os
import struct

import numpy as np


def save(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--shards", type=int, default=163)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--ffn", type=int, default=3072)
    ap.add_argument("--vocab", type=int, default=4096)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(0)
    layers = a.shards - 1
    h, heads, q_lora, kv_lora, nope, rope, v = a.hidden, 8, 384, 256, 64, 32, 64
    codes = np.array([c for c in range(256) if c not in (0x7F, 0xFF)], dtype=np.uint8)

    def fp8(name, rows, cols, out):
        out[name] = ("F8_E4M3", (rows, cols), rng.choice(codes, size=rows * cols).astype(np.uint8).tobytes())
        scale = (rng.random(((rows + 127) // 128, (cols + 127) // 128), dtype=np.float32) * 1e-3).astype("<f4")
        out[name + "_scale_inv"] = ("F32", scale.shape, scale.tobytes())

    def bf16(name, shape, out):
        x = (rng.standard_normal(int(np.prod(shape)), dtype=np.float32) * 0.02).astype("<f4")
        out[name] = ("BF16", shape, (x.view(np.uint32) >> 16).astype("<u2").tobytes())

    weight_map = {}
    for s in range(a.shards):
        t = {}
        if s == 0:
            bf16("model.embed_tokens.weight", (a.vocab, h), t)
        if s < layers:
            p = f"model.layers.{s}."
            bf16(p + "input_layernorm.weight", (h,), t)
            bf16(p + "post_attention_layernorm.weight", (h,), t)
            fp8(p + "self_attn.q_a_proj.weight", q_lora, h, t)
            bf16(p + "self_attn.q_a_layernorm.weight", (q_lora,), t)
            fp8(p + "self_attn.q_b_proj.weight", heads * (nope + rope), q_lora, t)
            fp8(p + "self_attn.kv_a_proj_with_mqa.weight", kv_lora + rope, h, t)
            bf16(p + "self_attn.kv_a_layernorm.weight", (kv_lora,), t)
            fp8(p + "self_attn.kv_b_proj.weight", heads * (nope + v), kv_lora, t)
            fp8(p + "self_attn.o_proj.weight", h, heads * v, t)
            fp8(p + "mlp.gate_proj.weight", a.ffn, h, t)
            fp8(p + "mlp.up_proj.weight", a.ffn, h, t)
            fp8(p + "mlp.down_proj.weight", h, a.ffn, t)
        if s == a.shards - 1:
            bf16("model.norm.weight", (h,), t)
            bf16("lm_head.weight", (a.vocab, h), t)
        name = f"model-{s + 1:05d}-of-{a.shards:06d}.safetensors"
        save(os.path.join(a.out, name), t)
        for k in t:
            weight_map[k] = name
    with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)
    config = {
        "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "hidden_size": h, "intermediate_size": a.ffn,
        "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": heads, "vocab_size": a.vocab,
        "q_lora_rank": q_lora, "kv_lora_rank": kv_lora, "qk_nope_head_dim": nope, "qk_rope_head_dim": rope, "v_head_dim": v,
        "first_k_dense_replace": layers, "n_routed_experts": 8, "num_experts_per_tok": 2, "n_group": 1, "topk_group": 1,
        "moe_intermediate_size": 256, "n_shared_experts": 1, "rms_norm_eps": 1e-6, "rope_theta": 10000, "max_position_embeddings": 4096,
        "num_nextn_predict_layers": 0, "torch_dtype": "bfloat16",
        "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8", "weight_block_size": [128, 128]},
    }
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


if __name__ == "__main__":
    main()
