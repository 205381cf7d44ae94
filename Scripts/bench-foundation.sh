#!/usr/bin/env bash
# Foundation benchmarks (run by hand; figures go to the README with this method).
#  1. inspect reads headers only: the same 64-tensor sharded layout at 128 MiB and at 16 GiB
#     (sparse files), timed alternately; the ratio should be ~1.
#  2. reading every tensor's bytes through the reader vs `cat` on the same files (page cache warm),
#     for a 1 GiB dense checkpoint, directly and after an unchanged copy into .hkw.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/hasskit
WORK=${BENCH_DIR:-/tmp/hasskit-bench}
RUNS=${RUNS:-11}
[ -x "$BIN" ] || swift build -c release --product hasskit >/dev/null
mkdir -p "$WORK"
[ -d "$WORK/small" ] || python3 Scripts/gen_checkpoint.py "$WORK/small" --gib 0.125 --tensors 64 --sparse
[ -d "$WORK/large" ] || python3 Scripts/gen_checkpoint.py "$WORK/large" --gib 16 --tensors 64 --sparse
[ -d "$WORK/dense" ] || python3 Scripts/gen_checkpoint.py "$WORK/dense" --gib 1 --tensors 64

python3 - "$BIN" "$WORK" "$RUNS" <<'PY'
import statistics, subprocess, sys, time
binary, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
def t(path):
    s = time.perf_counter()
    subprocess.run([binary, "inspect", path, "--json"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - s
t(f"{work}/small"); t(f"{work}/large")
small, large = [], []
for _ in range(runs):
    small.append(t(f"{work}/small"))
    large.append(t(f"{work}/large"))
ratios = [l / s for s, l in zip(small, large)]
print(f"inspect 128 MiB: median {statistics.median(small)*1000:.1f} ms; 16 GiB: median {statistics.median(large)*1000:.1f} ms; "
      f"median per-pair ratio (16 GiB / 128 MiB) {statistics.median(ratios):.2f} over {runs} pairs")
PY

echo "read, safetensors (1 GiB, page cache warm):"
"$BIN" bench read "$WORK/dense" --repeat 7
echo "read, unchanged .hkw copy of the same checkpoint:"
"$BIN" bench read "$WORK/dense" --via-hkw "$WORK" --repeat 7
