#!/usr/bin/env bash
# Convert benchmark (run by hand; figures go to the README with this method).
# A generated LLaMA-shaped BF16 checkpoint (BENCH_GIB, default 2 GiB, 64 tensors, 4 shards) is
# converted to Q8_0 by hasskit and by the gguf Python package's quantizer, and copied with `cp`
# (with and without `sync`, since hasskit fsyncs its output), ROUNDS times interleaved, page cache
# warm. Reports median seconds, throughput ratios against cp, and peak RSS.
#   SRC=DIR    convert this checkpoint instead (e.g. the 1.1 B shape of Scripts/gen_llama.py)
#   TYPES="q8_0 q4_0 q4_k q4_k_m"   the hasskit types to time; GGUF_PY=0 skips gguf-py
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/hasskit
WORK=${BENCH_DIR:-/tmp/hasskit-bench}
GIB=${BENCH_GIB:-2}
ROUNDS=${ROUNDS:-3}
[ -x "$BIN" ] || swift build -c release --product hasskit >/dev/null
mkdir -p "$WORK"
SRC=${SRC:-$WORK/convert-src-${GIB}g}
[ -d "$SRC" ] || python3 Scripts/gen_checkpoint.py "$SRC" --gib "$GIB" --tensors 64
cat "$SRC"/*.safetensors >/dev/null   # warm the page cache

python3 - "$BIN" "$SRC" "$WORK" "$ROUNDS" "${TYPES:-q8_0 q4_0 q4_k}" "${GGUF_PY:-1}" <<'PY'
import json, os, shutil, statistics, subprocess, sys, time
binary, src, work, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
types, gguf_py = sys.argv[5].split(), sys.argv[6] == "1"
def timed(cmd):
    s = time.perf_counter(); out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - s, out
results = {k: [] for k in ["cp", "cp+sync"] + [f"hasskit {q}" for q in types] + (["gguf-py q8_0"] if gguf_py else [])}
rss = {}
for _ in range(rounds):
    t, _ = timed(["cp", "-r", src, f"{work}/cp"]); results["cp"].append(t); shutil.rmtree(f"{work}/cp")
    t, _ = timed(["sh", "-c", f"cp -r {src} {work}/cp && sync"]); results["cp+sync"].append(t); shutil.rmtree(f"{work}/cp")
    for q in types:
        t, out = timed([binary, "convert", src, "--out", f"{work}/out.hkw", "--type", q, "--force", "--json"])
        results[f"hasskit {q}"].append(t); rss[f"hasskit {q}"] = json.loads(out)["peak_rss_bytes"]
    if gguf_py:
        t, out = timed(["python3", "Scripts/bench_gguf_quantize.py", src, f"{work}/gguf.bin"])
        results["gguf-py q8_0"].append(t); rss["gguf-py q8_0"] = json.loads(out)["peak_rss_bytes"]
cp = statistics.median(results["cp"]); cps = statistics.median(results["cp+sync"])
print(f"{'':16} {'median s':>9} {'vs cp':>7} {'vs cp+sync':>11} {'peak RSS':>10}")
for k, v in results.items():
    m = statistics.median(v)
    r = f"{rss[k] / 2**20:.0f} MiB" if k in rss else ""
    print(f"{k:16} {m:9.2f} {cp / m:7.2f} {cps / m:11.2f} {r:>10}")
print(f"({rounds} interleaved rounds; ratio = throughput relative to the baseline, higher is faster)")
PY
