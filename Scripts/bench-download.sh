#!/usr/bin/env bash
# Download benchmark (run by hand on a quiet machine; the README's download table comes from it).
# A loopback imitation of the hub (hasskit-testhub: `/resolve/` redirects to a "CDN" port, as the
# hub redirects to its storage) limited to a rate per connection, so the link, not the loopback,
# is what each tool has to use well. hasskit keeps every guarantee: SHA-256 checked before the
# rename, fsync, the Hugging Face cache layout. Each test alternates the two commands for ROUNDS
# rounds, deletes the output and runs `sync` between runs, checks every output's SHA-256 after
# its run, and reports the median of the per-round ratios.
#  1. one stream: `hasskit pull --parallel-ranges 1` vs `curl -L -o`, 512 MiB at 100 MiB/s
#  2. ranges: `hasskit pull --parallel-ranges 8` vs `--parallel-ranges 1`, 256 MiB at 25 MiB/s
#  3. a sharded repository: `hasskit pull` (defaults) vs `aria2c -x4 -s4 -j4`, 4 × 128 MiB at
#     25 MiB/s (aria2c: `apt-get install aria2`)
#   bash Scripts/bench-download.sh     (ROUNDS=3 by default; BENCH_DIR for the work folder;
#                                        TESTS="one ranges shards" to choose)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
WORK=${BENCH_DIR:-/tmp/hasskit-bench-dl}
command -v aria2c >/dev/null || { echo "aria2c is missing: apt-get install aria2" >&2; exit 1; }
swift build -c release --product hasskit >/dev/null
swift build -c release --product hasskit-testhub >/dev/null
mkdir -p "$WORK"
HUB_PID=
trap '[ -n "$HUB_PID" ] && kill $HUB_PID 2>/dev/null; rm -rf "$WORK"' EXIT

start_hub() {  # size_mib shards rate_mibps
    [ -n "$HUB_PID" ] && kill $HUB_PID 2>/dev/null
    .build/release/hasskit-testhub --size-mib "$1" --shards "$2" --rate-mibps "$3" > "$WORK/hub.out" 2>&1 &
    HUB_PID=$!
    for _ in $(seq 300); do [ "$(grep -c SHA256 "$WORK/hub.out" 2>/dev/null)" = "$2" ] && break; sleep 0.2; done
}

run_test() {  # label: runs the python harness on the hub that is up
    python3 - "$WORK" "$ROUNDS" "$1" <<'PY'
import hashlib, os, shutil, statistics, subprocess, sys, time
work, rounds, test = sys.argv[1], int(sys.argv[2]), sys.argv[3]
hub = {}
for line in open(f"{work}/hub.out"):
    k, _, v = line.strip().partition(" ")
    hub.setdefault(k, []).append(v)
env = dict(os.environ, HF_ENDPOINT=hub["ENDPOINT"][0], HF_HUB_CACHE=f"{work}/cache", HASSKIT_HOME=f"{work}/home")
size = 0
def clean():
    for d in ("cache", "home", "out"):
        shutil.rmtree(f"{work}/{d}", ignore_errors=True)
    subprocess.run(["sync"])
def timed(cmd, **kw):
    clean()
    s = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - s
def verify(paths):
    global size
    size = 0
    for p, sha in zip(paths, hub["SHA256"]):
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(16 << 20), b""):
                h.update(chunk); size += len(chunk)
        assert h.hexdigest() == sha, f"{p}: wrong SHA-256"
def pulled():
    return [f"{work}/cache/models--org--bench/blobs/{sha}" for sha in hub["SHA256"]]
def hasskit(*args):
    t = timed([".build/release/hasskit", "pull", "org/bench", "--quiet", *args], env=env); verify(pulled()); return t
def curl():
    os.makedirs(f"{work}/out", exist_ok=True)
    t = timed(["sh", "-c", f"mkdir -p {work}/out && curl -sfL -o {work}/out/f {hub['RESOLVE_URL'][0]}"]); verify([f"{work}/out/f"]); return t
def aria2():
    # One entry per file, named as on the hub (the redirect's target is a blob named by its hash).
    urls = "".join(f"{u}\n  out={u.rsplit('/', 1)[1]}\n" for u in hub["RESOLVE_URL"])
    cmd = ["sh", "-c", f"mkdir -p {work}/out && aria2c -q -x4 -s4 -j4 --file-allocation=none --allow-overwrite=true -d {work}/out -i -"]
    clean(); s = time.perf_counter()
    subprocess.run(cmd, check=True, input=urls.encode(), stdout=subprocess.DEVNULL)
    t = time.perf_counter() - s
    verify([f"{work}/out/{u.rsplit('/', 1)[1]}" for u in hub["RESOLVE_URL"]]); return t
tests = {
    "one": ("hasskit pull --parallel-ranges 1", lambda: hasskit("--parallel-ranges", "1"), "curl -L -o", curl),
    "ranges": ("hasskit pull --parallel-ranges 8", lambda: hasskit("--parallel-ranges", "8"),
               "hasskit pull --parallel-ranges 1", lambda: hasskit("--parallel-ranges", "1")),
    "shards": ("hasskit pull", lambda: hasskit(), "aria2c -x4 -s4 -j4", aria2),
}
mine_label, mine, base_label, base = tests[test]
mine(); base()  # warm-up (the page cache holds the server's data from here on)
ours, theirs = [], []
for _ in range(rounds):
    ours.append(mine()); theirs.append(base())
ratios = [b / a for a, b in zip(ours, theirs)]
mib = size / (1 << 20)
print(f"{mine_label:36} {statistics.median(ours):6.2f} s ({mib / statistics.median(ours):6.1f} MiB/s)   "
      f"{base_label:32} {statistics.median(theirs):6.2f} s ({mib / statistics.median(theirs):6.1f} MiB/s)   "
      f"ratio {statistics.median(ratios):.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f})")
PY
}

echo "Downloads over a loopback hub limited per connection; $ROUNDS alternating rounds, medians"
for test in ${TESTS:-one ranges shards}; do
    case $test in
    one) start_hub 512 1 100 ;;
    ranges) start_hub 256 1 25 ;;
    shards) start_hub 128 4 25 ;;
    esac
    run_test $test
done
