#!/usr/bin/env bash
# FR-Spec's draft vocabulary on the trained demo pair (a LLaMA-3-style base of 6.5 M parameters,
# vocabulary 4,096, and its HASS head), converted to TYPE (default q8_0): `hasskit check` on the
# bundled prompts with the full vocabulary and with --draft-vocab N for each N, alternating, medians
# of REPEATS rounds: τ, speculative tokens per second, and the speed-up over the full vocabulary
# measured in the same round. Outputs must stay identical (check exits 1 otherwise).
#   bash Scripts/bench-draft-vocab.sh [WORKDIR] [REPEATS] [TYPE] [SIZES]
set -euo pipefail
WORK=${1:-/tmp/hasskit-bench-draft-vocab}
REPEATS=${2:-5}
TYPE=${3:-q8_0}
SIZES=${4:-256,512,1024,2048}
H=.build/release/hasskit
FIX=${HASSKIT_SHARED_FIXTURES:-../shared/fixtures}
swift build -c release --product hasskit >/dev/null
mkdir -p "$WORK"
[ -f "$WORK/base-$TYPE.hkw" ] || $H convert "$FIX/demo-pair/base" --out "$WORK/base-$TYPE.hkw" --type "$TYPE" >/dev/null
[ -f "$WORK/head-$TYPE.hkw" ] || $H convert "$FIX/demo-pair/draft" --out "$WORK/head-$TYPE.hkw" --type "$TYPE" --draft-of "$WORK/base-$TYPE.hkw" >/dev/null
python3 - "$WORK" "$REPEATS" "$TYPE" "$SIZES" <<'PY'
import json, statistics, subprocess, sys
work, repeats, typ, sizes = sys.argv[1], int(sys.argv[2]), sys.argv[3], [int(s) for s in sys.argv[4].split(",")]
check = [".build/release/hasskit", "check", "--base", f"{work}/base-{typ}.hkw", "--draft", f"{work}/head-{typ}.hkw",
         "--max-tokens", "64", "--threads", "1", "--json"]
runs = {n: [] for n in [0] + sizes}
for _ in range(repeats):
    for n in runs:
        out = json.loads(subprocess.run(check + (["--draft-vocab", str(n)] if n else []), capture_output=True, text=True, check=True).stdout)
        assert out["identical"], n
        runs[n].append(out)
full = statistics.median(r["speculative_tokens_per_second"] for r in runs[0])
print(f"demo pair {typ}, bundled prompts, 64 tokens, 1 thread; medians of {repeats} alternating rounds")
print(f"{'draft vocab':>12} {'tau':>6} {'spec tok/s':>11} {'vs full':>8} {'vs plain':>9}")
for n, rs in runs.items():
    tau = statistics.median(r["acceptance_length"] for r in rs)
    tps = statistics.median(r["speculative_tokens_per_second"] for r in rs)
    plain = statistics.median(r["vanilla_tokens_per_second"] for r in rs)
    print(f"{(n or 'full (4096)'):>12} {tau:6.2f} {tps:11.1f} {tps / full:7.2f}x {tps / plain:8.2f}x")
PY
