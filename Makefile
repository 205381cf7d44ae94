# The two commands of the README's quick start, plus helpers. Each target first makes sure the
# system libraries are installed (Scripts/install-deps.sh).
SWIFT ?= swift
HASSKIT = .build/release/hasskit

.PHONY: deps build demo test bench clean

deps:
	@bash Scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release --product hasskit

# The main job on the bundled demo pair (a small base and a trained HASS head for it): convert
# both to Q8_0, check that the head fits the base, then prove speculative decoding lossless and
# report τ and the speed-up.
demo: build
	mkdir -p .build/demo
	$(HASSKIT) convert Tests/Fixtures/demo-pair/base --out .build/demo/base-q8_0.hkw --type q8_0 --force
	$(HASSKIT) convert Tests/Fixtures/demo-pair/draft --out .build/demo/head-q8_0.hkw --type q8_0 --draft-of .build/demo/base-q8_0.hkw --force
	$(HASSKIT) compat .build/demo/base-q8_0.hkw .build/demo/head-q8_0.hkw
	$(HASSKIT) check --base .build/demo/base-q8_0.hkw --draft .build/demo/head-q8_0.hkw --top-k 4 --depth 4 --total-tokens 16
	$(HASSKIT) run .build/demo/base-q8_0.hkw --draft .build/demo/head-q8_0.hkw --top-k 4 --depth 4 --total-tokens 16 \
		--prompt 'def fibonacci(n):' --max-tokens 48

test: deps
	$(SWIFT) test

bench: build
	bash Scripts/bench-foundation.sh

clean:
	rm -rf .build
