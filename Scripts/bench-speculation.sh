#!/usr/bin/env bash
# What speculative decoding can gain on this CPU: a random 0.75 B LLaMA whose layers read all their
# weights but write zeros, with a HASS head that predicts it exactly (Scripts/gen_llama.py --head),
# both converted to TYPE (default q8_0). Every draft is accepted, so τ is the tree's depth + 1 and
# the speed-up is the upper bound for that tree. Each tree runs right after a plain run, and its
# speed-up is the median over REPEATS rounds of those pairs' ratios. Both rates are timed from the
# first token (the prompt pass excluded), as `run --json` reports them.
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
def rate(extra=()):
    out = json.loads(subprocess.run(run + list(extra), capture_output=True, text=True, check=True).stdout)
    return out["decode_tokens_per_second"], out.get("acceptance_length")
plain, spec, ratio, tau = [], {t: [] for t in trees}, {t: [] for t in trees}, {}
for _ in range(repeats):
    for k, d, n in trees:
        # Each tree right after a plain run: the host's memory bandwidth drifts (a plain Q8_0 step
        # moved by 1.6x within an hour here), so each ratio compares two runs a few seconds apart.
        p, _ = rate()
        s, tau[(k, d, n)] = rate(["--draft", f"{work}/head-{typ}.hkw", "--top-k", str(k), "--depth", str(d), "--total-tokens", str(n)])
        plain.append(p); spec[(k, d, n)].append(s); ratio[(k, d, n)].append(s / p)
print(f"plain {statistics.median(plain):.1f} tok/s (median of {len(plain)} runs, {min(plain):.1f}-{max(plain):.1f})")
print("tree (nodes/depth/top-k)  tau   tok/s  vs plain (median of the paired ratios)")
for t in trees:
    print(f"{t[2]:>3}/{t[1]}/{t[0]:<18}  {tau[t]:4.2f}  {statistics.median(spec[t]):5.1f}  {statistics.median(ratio[t]):.2f}x")
PY
