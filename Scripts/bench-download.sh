#!/usr/bin/env bash
# Download benchmark (run by hand; figures go to the README with this method).
#  1. A 1 GiB file from a loopback imitation of the hub (hasskit-testhub): `hasskit pull` (SHA-256
#     verified, fsynced, into the HF cache) against `curl -o` and `curl -o && sync` of the same URL,
#     ROUNDS interleaved pairs after a warm-up, output deleted and `sync` between runs.
#  2. The same server limited to 50 MB/s per connection, 256 MiB file: 4 parallel ranges vs 1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
WORK=${BENCH_DIR:-/tmp/hasskit-bench-dl}
swift build -c release --product hasskit >/dev/null
swift build -c release --product hasskit-testhub >/dev/null
mkdir -p "$WORK"

start_hub() {  # size_mib [rate]
    .build/release/hasskit-testhub --size-mib "$1" ${2:+--rate-mbps $2} > "$WORK/hub.out" 2>&1 &
    HUB_PID=$!
    for _ in $(seq 100); do grep -q SHA256 "$WORK/hub.out" 2>/dev/null && break; sleep 0.2; done
    EP=$(awk '/ENDPOINT/{print $2}' "$WORK/hub.out")
    URL=$(awk '/FILE_URL/{print $2}' "$WORK/hub.out")
    SHA=$(awk '/SHA256/{print $2}' "$WORK/hub.out")
}

start_hub 1024
python3 - "$EP" "$URL" "$SHA" "$WORK" "$ROUNDS" <<'PY'
import hashlib, os, shutil, statistics, subprocess, sys, time
ep, url, sha, work, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
env = dict(os.environ, HF_ENDPOINT=ep, HF_HUB_CACHE=f"{work}/cache", HASSKIT_HOME=f"{work}/home")
def clean():
    shutil.rmtree(f"{work}/cache", ignore_errors=True); shutil.rmtree(f"{work}/home", ignore_errors=True)
    if os.path.exists(f"{work}/curl.bin"): os.remove(f"{work}/curl.bin")
    subprocess.run(["sync"])
def run(cmd, **kw):
    s = time.perf_counter(); subprocess.run(cmd, check=True, **kw); return time.perf_counter() - s
def blob():
    d = f"{work}/cache/models--org--bench/blobs/{sha}"
    return d
def check(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(16 << 20), b""): h.update(chunk)
    assert h.hexdigest() == sha, path
res = {"curl -o": [], "curl -o && sync": [], "hasskit pull (1 stream)": [], "hasskit pull (4 ranges)": [],
       "hasskit pull --no-fsync (1 stream)": [], "hasskit pull --no-fsync (4 ranges)": []}
clean(); run(["curl", "-s", "-o", f"{work}/curl.bin", url]); clean()  # warm-up
for _ in range(rounds):
    res["curl -o"].append(run(["curl", "-s", "-o", f"{work}/curl.bin", url])); check(f"{work}/curl.bin"); clean()
    res["curl -o && sync"].append(run(["sh", "-c", f"curl -s -o {work}/curl.bin {url} && sync"])); clean()
    for label, n in (("hasskit pull (1 stream)", "1"), ("hasskit pull (4 ranges)", "4")):
        res[label].append(run([".build/release/hasskit", "pull", "org/bench", "--quiet", "--parallel-ranges", n], env=env)); check(blob()); clean()
        res[label.replace("pull", "pull --no-fsync")].append(
            run([".build/release/hasskit", "pull", "org/bench", "--quiet", "--no-fsync", "--parallel-ranges", n], env=env)); check(blob()); clean()
base = statistics.median(res["curl -o"]); base_sync = statistics.median(res["curl -o && sync"])
print(f"1 GiB over loopback, {rounds} interleaved rounds (median seconds; throughput ratio vs baseline)")
for k, v in res.items():
    m = statistics.median(v)
    print(f"  {k:26} {m:6.2f} s   vs curl -o {base / m:5.2f}   vs curl -o && sync {base_sync / m:5.2f}   (min {min(v):.2f}, max {max(v):.2f})")
PY
kill $HUB_PID

start_hub 256 50
python3 - "$EP" "$WORK" <<'PY'
import os, shutil, statistics, subprocess, sys, time
ep, work = sys.argv[1], sys.argv[2]
env = dict(os.environ, HF_ENDPOINT=ep, HF_HUB_CACHE=f"{work}/cache", HASSKIT_HOME=f"{work}/home")
res = {"1": [], "4": []}
for _ in range(3):
    for n in ("1", "4"):
        shutil.rmtree(f"{work}/cache", ignore_errors=True); shutil.rmtree(f"{work}/home", ignore_errors=True)
        s = time.perf_counter()
        subprocess.run([".build/release/hasskit", "pull", "org/bench", "--quiet", "--parallel-ranges", n], check=True, env=env)
        res[n].append(time.perf_counter() - s)
one, four = statistics.median(res["1"]), statistics.median(res["4"])
print(f"256 MiB at 50 MB/s per connection: 1 stream {one:.2f} s, 4 ranges {four:.2f} s, speed-up {one / four:.2f}x")
PY
kill $HUB_PID
rm -rf "$WORK"
