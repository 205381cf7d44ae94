#!/usr/bin/env bash
# Decode speed of the CPU engine on a random 0.75 B-parameter LLaMA (Scripts/gen_llama.py), Q8_0
# or Q4_0: the fused kernel against the reference path (HASSKIT_KERNELS=reference), run alternately
# in the same session, and the weight bandwidth each reaches (file bytes × tokens/s) next to
# reading the same file from the page cache with cat.
#   bash Scripts/bench-engine.sh [WORKDIR] [REPEATS] [TYPE]
set -euo pipefail
WORK=${1:-/tmp/hasskit-bench-engine}
REPEATS=${2:-3}
TYPE=${3:-q8_0}
H=.build/release/hasskit
swift build -c release --product hasskit >/dev/null
mkdir -p "$WORK"
[ -d "$WORK/llama" ] || python3 Scripts/gen_llama.py "$WORK/llama"
M="$WORK/m-$TYPE.hkw"
[ -f "$M" ] || $H convert "$WORK/llama" --out "$M" --type "$TYPE" >/dev/null
BYTES=$(stat -c %s "$M")
cat "$M" >/dev/null
python3 - "$BYTES" "$REPEATS" "$M" "$TYPE" <<'PY'
import statistics, subprocess, sys, time, os
size, repeats, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def rate(kind):
    out = subprocess.run(["bash", "-c", f'HASSKIT_KERNELS={kind} .build/release/hasskit run {path} --prompt-ids 1,2,3,4,5,6,7,8 --max-tokens 32 --ignore-eos --json'],
                         capture_output=True, text=True, check=True).stdout
    import json
    return json.loads(out)["decode_tokens_per_second"]
def cat():
    t = time.perf_counter(); subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True); return size / (time.perf_counter() - t)
ref, fused, ratios, cats = [], [], [], []
for _ in range(repeats):
    r, f = rate("reference"), rate("fused")
    ref.append(r); fused.append(f); ratios.append(f / r); cats.append(cat())
gb = lambda x: x / 1e9
print(f"model {size / 1e6:.0f} MB {sys.argv[4]}, {repeats} alternating pairs, decode of 32 tokens after 8")
print(f"reference  {statistics.median(ref):6.1f} tok/s  ({gb(size * statistics.median(ref)):.1f} GB/s of weights)")
print(f"fused      {statistics.median(fused):6.1f} tok/s  ({gb(size * statistics.median(fused)):.1f} GB/s of weights)")
print(f"fused / reference  {statistics.median(ratios):.2f}x (median of per-pair ratios)")
print(f"cat from page cache  {gb(statistics.median(cats)):.1f} GB/s")
PY
