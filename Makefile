# The two commands of the README's quick start, plus helpers. Each target first makes sure the
# system libraries are installed (Scripts/install-deps.sh).
SWIFT ?= swift
HASSKIT = .build/release/hasskit

.PHONY: deps build demo test bench clean

deps:
	@bash Scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release --product hasskit

# The main job on bundled data. Until the demo pair lands this inspects a bundled checkpoint.
demo: build
	$(HASSKIT) inspect Tests/Fixtures/llama3

test: deps
	$(SWIFT) test

bench: build
	bash Scripts/bench-foundation.sh

clean:
	rm -rf .build
