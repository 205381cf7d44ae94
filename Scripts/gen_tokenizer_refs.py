#!/usr/bin/env python3
"""Reference ids and decodings from the HF `tokenizers` library (pip install tokenizers sentencepiece).

1. The real tokenizers in ../shared/fixtures/real-tokenizers (LLaMA-3, SmolLM2, and the
   upstream SmolLM2 form Sequence[Digits, ByteLevel]): Tests/Fixtures/refs/real_tokenizer_<name>.json.
   Qwen2 and DeepSeek-V3 have their references beside the files (refs_<name>.json).
   LLaMA-2's tokenizer.model: ids from the `sentencepiece` library.
2. Small tokenizers trained here, one per combination of components the HF format defines
   (normalizers, pre-tokenizers with every split behaviour, BPE options, added-token options,
   post-processors, decoders): Tests/Fixtures/tokenizers/components/<name>.json with
   Tests/Fixtures/refs/components.json.

The inputs are the 70 strings of the shared references plus strings aimed at each component.
Run from the package root: python3 Scripts/gen_tokenizer_refs.py
"""
import json
import os
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

SHARED = os.environ.get("HASSKIT_SHARED", "../shared/fixtures")
REAL = f"{SHARED}/real-tokenizers"
OUT_REFS = "Tests/Fixtures/refs"
OUT_COMPONENTS = "Tests/Fixtures/tokenizers/components"

base_texts = [(c["name"], c["text"]) for c in json.load(open(f"{REAL}/refs_qwen2.json"))["cases"]]
extra_texts = [
    ("chatml_turn", "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"),
    ("llama3_header", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"),
    ("llama2_inst", "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHello [/INST] Hi </s>"),
    ("deepseek_turn", "<｜begin▁of▁sentence｜>You are kind.<｜User｜>1+1?<｜Assistant｜><think>\nadd</think>2"),
    ("special_glued", "x<|im_end|>y<|endoftext|><|endoftext|>z"),
    ("digits_runs", "0 12 345 6789 1234567890123 3.14159 -42 1e-5 0x1F"),
    ("newline_runs", "a\n\n\nb\r\n\r\nc\n \n d"),
    ("indent_code", "def f(x):\n    if x:\n        return [x, x*2]\n    return None\n"),
    ("mixed_scripts", "Hello世界123مرحبا😀 Ünïcödé"),
    ("space_before_special", "hello <|im_end|> world"),
]
texts = base_texts + extra_texts


def cases(tok, add_special=True):
    out = []
    for name, text in texts:
        enc = tok.encode(text, add_special_tokens=False)
        out.append({
            "name": name,
            "text": text,
            "ids": enc.ids,
            "ids_with_special": tok.encode(text, add_special_tokens=True).ids if add_special else enc.ids,
            "decoded": tok.decode(enc.ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(enc.ids, skip_special_tokens=True),
        })
    return out


def dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")


def real():
    import hashlib
    for name, variant in [("llama3", None), ("smollm2", None), ("smollm2", "upstream")]:
        path = f"{REAL}/{name}/tokenizer.json"
        raw = open(path, "rb").read()
        spec = json.loads(raw)
        label = name
        if variant == "upstream":
            # The model's own repository declares Sequence[Digits(individual), ByteLevel(no regex... )]:
            # the GGUF export wrote the GPT-2 form instead (see real-tokenizers/smollm2/README.md).
            spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
                {"type": "Digits", "individual_digits": True},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}
            label = "smollm2_upstream"
        tok = Tokenizer.from_str(json.dumps(spec))
        dump(f"{OUT_REFS}/real_tokenizer_{label}.json", {
            "tokenizer": f"real-tokenizers/{name}/tokenizer.json", "sha256": hashlib.sha256(raw).hexdigest(),
            "variant": variant, "pre_tokenizer": spec["pre_tokenizer"] if variant else None,
            "library": "tokenizers", "cases": cases(tok)})
    dump(f"{OUT_REFS}/real_tokenizer_llama2_spm.json", {
        "tokenizer": "real-tokenizers/llama2/tokenizer.model",
        "library": "sentencepiece, with the control pieces' spellings (<s>, </s>, <unk>) matched first as "
                   "transformers matches special tokens, each part between them encoded on its own",
        "cases": [{"name": name, "text": text, "ids": (ids := spm_encode(text)),
                   # sentencepiece's decode drops control pieces (transformers prints them): compared
                   # only where there are none.
                   "decoded": None if any(_sp.is_control(i) or _sp.is_unknown(i) for i in ids) else _sp.decode(ids)}
                  for name, text in texts]})


_sp = None


def spm_encode(text):
    """LLaMA-2's tokenizer.model as transformers uses it: special tokens first, SentencePiece between."""
    import re
    import sentencepiece as spm
    global _sp
    if _sp is None:
        _sp = spm.SentencePieceProcessor(model_file=f"{REAL}/llama2/tokenizer.model")
    controls = {_sp.id_to_piece(i): i for i in range(_sp.get_piece_size()) if _sp.is_control(i) or _sp.is_unknown(i)}
    pattern = "(" + "|".join(re.escape(c) for c in sorted(controls, key=len, reverse=True)) + ")"
    ids = []
    for part in re.split(pattern, text):
        if part in controls:
            ids.append(controls[part])
        elif part:
            ids += _sp.encode(part)
    return ids


corpus = [t for _, t in texts] * 3 + [
    "the quick brown fox jumps over the lazy dog " * 5,
    "Tokenizers split text into pieces; models merge pieces into tokens. " * 5,
    "1234567890 " * 10, "café naïve résumé Ångström " * 5, "你好世界 こんにちは 안녕하세요 " * 5,
]


def train(tok, vocab_size=400, **kw):
    specials = kw.pop("special_tokens", [])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False, **kw)
    tok.train_from_iterator(corpus, trainer)
    return tok


def with_byte_fallback(tok):
    """Adds <0x00>…<0xFF> to the model's vocabulary and turns byte_fallback on (as LLaMA-2 has)."""
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    next_id = max(max(vocab.values()), max((t["id"] for t in spec["added_tokens"]), default=-1)) + 1
    for b in range(256):
        key = "<0x%02X>" % b
        if key not in vocab:
            vocab[key] = next_id
            next_id += 1
    spec["model"]["byte_fallback"] = True
    return Tokenizer.from_str(json.dumps(spec))


def components():
    made = {}

    # 1. Byte-level with a prefix space, NFKC + Lowercase, GPT-2 regex; added tokens of every kind.
    t = Tokenizer(models.BPE())
    t.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    t.decoder = decoders.ByteLevel()
    train(t, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=["<bos>", "<eos>"])
    t.add_special_tokens(["<|im_start|>", "<|im_end|>"])
    t.add_tokens([AddedToken("[MASK]", lstrip=True, rstrip=True, special=True),
                  AddedToken("word", single_word=True, normalized=True),
                  AddedToken("Nope", normalized=False), AddedToken("nope", normalized=True)])
    t.post_processor = processors.TemplateProcessing(
        single="<bos> $A <eos>", special_tokens=[("<bos>", t.token_to_id("<bos>")), ("<eos>", t.token_to_id("<eos>"))])
    made["bytelevel_prefix_nfkc_lower"] = t

    # 2. SentencePiece-style: Metaspace (prepend first, split), byte fallback, unknown fused.
    t = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    t.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(),
                                         normalizers.Replace(Regex(r"\s+"), " ")])
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    t.decoder = decoders.Sequence([decoders.Metaspace(replacement="▁", prepend_scheme="first"),
                                   decoders.ByteFallback(), decoders.Fuse()])
    train(t, special_tokens=["<unk>", "<s>", "</s>"], limit_alphabet=60)
    t.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    made["metaspace_first_unk"] = t
    t2 = with_byte_fallback(made["metaspace_first_unk"])
    t2.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    t2.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                    decoders.Strip(" ", 1, 0)])
    t2.add_tokens([AddedToken("<tool>", lstrip=False, rstrip=True, normalized=False)])
    made["metaspace_always_bytefallback"] = t2

    # 3. Word pieces: Whitespace + Punctuation, subword prefix and word suffix, BPEDecoder, Bert.
    t = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    t.normalizer = normalizers.Sequence([normalizers.Strip(), normalizers.NFC(), normalizers.Prepend("^")])
    t.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(),
                                               pre_tokenizers.Punctuation(behavior="contiguous")])
    t.decoder = decoders.BPEDecoder(suffix="</w>")
    train(t, special_tokens=["[UNK]", "[CLS]", "[SEP]"], continuing_subword_prefix="##", end_of_word_suffix="</w>")
    t.post_processor = processors.BertProcessing(("[SEP]", 2), ("[CLS]", 1))
    made["subword_prefix_suffix"] = t

    # 4. Every split behaviour, inverted or not, on a byte-level model; Digits; WhitespaceSplit.
    splits = [
        ("split_removed", pre_tokenizers.Split(Regex(r"\s+"), "removed")),
        ("split_isolated_invert", pre_tokenizers.Split(Regex(r"\p{L}+"), "isolated", invert=True)),
        ("split_merged_previous", pre_tokenizers.Split(Regex(r"[,.;:!?]"), "merged_with_previous")),
        ("split_merged_next", pre_tokenizers.Split(" ", "merged_with_next")),
        ("split_contiguous", pre_tokenizers.Split(Regex(r"\d"), "contiguous")),
        ("digits_grouped", pre_tokenizers.Digits(individual_digits=False)),
        ("whitespace_split_punct_next", pre_tokenizers.Sequence([
            pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(behavior="merged_with_next")])),
        ("char_delimiter", pre_tokenizers.CharDelimiterSplit("e")),
    ]
    for name, pre in splits:
        t = Tokenizer(models.BPE(ignore_merges=True))
        t.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.Replace("\t", "    ")])
        t.pre_tokenizer = pre_tokenizers.Sequence([pre, pre_tokenizers.ByteLevel(add_prefix_space=False,
                                                                                 use_regex=False)])
        t.decoder = decoders.ByteLevel()
        train(t, vocab_size=350, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        t.post_processor = processors.ByteLevel(trim_offsets=False)
        made[name] = t

    os.makedirs(OUT_COMPONENTS, exist_ok=True)
    refs = {}
    for name, t in made.items():
        t.save(f"{OUT_COMPONENTS}/{name}.json")
        # The texts are stored once, at the top; each case keeps its name to line up.
        refs[name] = [{k: v for k, v in c.items() if k != "text"}
                      for c in cases(Tokenizer.from_file(f"{OUT_COMPONENTS}/{name}.json"))]
    dump(f"{OUT_REFS}/components.json", {"library": "tokenizers", "texts": [{"name": n, "text": t} for n, t in texts],
                                         "tokenizers": refs})


if __name__ == "__main__":
    import tokenizers
    print("tokenizers", tokenizers.__version__, file=sys.stderr)
    real()
    components()
