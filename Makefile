# The two commands of the README's quick start, plus helpers. Each target first makes sure the
# system libraries are installed (Scripts/install-deps.sh).
SWIFT ?= swift
HASSKIT = .build/release/hasskit

.PHONY: deps build demo test lint format bench clean

deps:
	@bash Scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release --product hasskit

# The main job on the bundled demo pair (a small base and a trained HASS head for it), offline:
# the registry's `demo` entry is pulled from a loopback hub serving the repository's files,
# converted to Q8_0, checked for fit, and decoded plainly and speculatively (`hasskit demo`).
demo: build
	$(HASSKIT) demo

# The house format (.swift-format: 4 spaces, 120 columns), checked by `make test` and so by CI;
# `make format` rewrites the files in place.
lint:
	$(SWIFT) format lint --strict -r --configuration .swift-format Sources Tests

format:
	$(SWIFT) format format -i -r --configuration .swift-format Sources Tests

# All tests, then the engine and kernel tests once more on the portable reference kernels
# (HASSKIT_KERNELS=reference), so both paths are tested on every machine.
# The conversion memory bound is measured alone afterwards: a peak RSS is honest only on a quiet
# machine (pages written but still waiting for writeback stay resident while other tests write).
test: deps lint
	bash Scripts/fetch-test-models.sh
	$(SWIFT) test --skip ConversionMemoryTests
	$(SWIFT) test --skip-build --filter ConversionMemoryTests
	HASSKIT_KERNELS=reference $(SWIFT) test --skip-build --filter 'InferenceTests|QuantizationTests|CSmokeTests|ConversionTests'

bench: build
	bash Scripts/bench-foundation.sh

clean:
	rm -rf .build
