# The two commands of the README's quick start, plus helpers. Each target first makes sure the
# system libraries are installed (Scripts/install-deps.sh).
SWIFT ?= swift
HASSKIT = .build/release/hasskit

.PHONY: deps build demo test bench clean

deps:
	@bash Scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release --product hasskit

# The main job on bundled data. Until the demo pair lands: convert a bundled checkpoint and
# inspect the result.
demo: build
	mkdir -p .build/demo
	$(HASSKIT) convert Tests/Fixtures/llama3 --out .build/demo/llama3-q8_0.hkw --type q8_0 --force
	$(HASSKIT) inspect .build/demo/llama3-q8_0.hkw

test: deps
	$(SWIFT) test

bench: build
	bash Scripts/bench-foundation.sh

clean:
	rm -rf .build
