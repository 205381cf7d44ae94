#!/usr/bin/env bash
# What speculative decoding can gain on this CPU: a random 0.75 B LLaMA whose layers read all their
# weights but write zeros, with a HASS head that predicts it exactly (Scripts/gen_llama.py --head),
# both converted to TYPE (default q8_0). Every draft is accepted, so τ is the tree's depth + 1 and
# the speed-up is the upper bound for that tree. Plain decoding and each tree alternate; medians of
# REPEATS rounds. Both rates are timed from the first token (the prompt pass excluded), as `run --json`
# reports them.
#   bash Scripts/bench-speculation.sh [WORKDIR] [REPEATS] [TYPE]
set -euo pipefail
WORK=${1:-/tmp/hasskit-bench-speculation}
REPEATS=${2:-3}
TYPE=${3:-q8_0}
H=.build/release/hasskit
swift build -c release --product hasskit >/dev/null
mkdir -p "$WORK"
[ -d "$WORK/base" ] || python3 Scripts/gen_llama.py "$WORK/base" --head "$WORK/head"
[ -f "$WORK/base-$TYPE.hkw" ] || $H convert "$WORK/base" --out "$WORK/base-$TYPE.hkw" --type "$TYPE" >/dev/null
[ -f "$WORK/head-$TYPE.hkw" ] || $H convert "$WORK/head" --out "$WORK/head-$TYPE.hkw" --type "$TYPE" --draft-of "$WORK/base-$TYPE.hkw" >/dev/null
python3 - "$WORK" "$REPEATS" "$TYPE" <<'PY'
import json, statistics, subprocess, sys
work, repeats, typ = sys.argv[1], int(sys.argv[2]), sys.argv[3]
run = [".build/release/hasskit", "run", f"{work}/base-{typ}.hkw", "--prompt-ids", "5,6,7,8", "--max-tokens", "64", "--ignore-eos", "--json"]
trees = [(1, 1, 3), (1, 2, 4), (1, 3, 5), (1, 5, 7), (1, 7, 9), (2, 2, 5), (2, 3, 8), (4, 1, 5), (4, 3, 16), (10, 5, 60)]
plain, spec, tau = [], {t: [] for t in trees}, {}
for _ in range(repeats):
    plain.append(json.loads(subprocess.run(run, capture_output=True, text=True, check=True).stdout)["decode_tokens_per_second"])
    for k, d, n in trees:
        out = json.loads(subprocess.run(run + ["--draft", f"{work}/head-{typ}.hkw", "--top-k", str(k), "--depth", str(d), "--total-tokens", str(n)],
                                        capture_output=True, text=True, check=True).stdout)
        spec[(k, d, n)].append(out["decode_tokens_per_second"]); tau[(k, d, n)] = out["acceptance_length"]
p = statistics.median(plain)
print(f"plain {p:.1f} tok/s (median of {repeats})")
print("tree (nodes/depth/top-k)  tau   tok/s  vs plain")
for t in trees:
    s = statistics.median(spec[t])
    print(f"{t[2]:>3}/{t[1]}/{t[0]:<18}  {tau[t]:4.2f}  {s:5.1f}  {s / p:.2f}x")
PY
