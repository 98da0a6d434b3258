# Two commands: `make run` (install, build, run a node on the embedded
# default) and `make test` (install, build, run every test through CTest).
# `make fuzz` and `make sanitize` build elsewhere (docs/testing.md).
BUILD_DIR ?= build
JOBS ?= 2
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
ASAN_DIR ?= build-asan

.PHONY: run test setup build bench clean fuzz sanitize

run: build
	./$(BUILD_DIR)/starling $(ARGS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600

setup:
	./scripts/setup.sh

build: setup
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD_DIR) -j $(JOBS)

bench: build
	cmake --build $(BUILD_DIR) --target bench

# libFuzzer needs clang; every target runs FUZZ_SECONDS on its seed corpus.
fuzz:
	STARLING_SETUP_CLANG=1 ./scripts/setup.sh
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DSTARLING_FUZZ=ON \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_targets
	./scripts/fuzz.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# The whole suite on an ASan+UBSan build; the node tests find the binary
# through STARLING_BIN, so they run the sanitized one. UB halts, but `null`
# stays recoverable so tests/sanitize/ubsan.supp can drop CAF's harmless one.
SANITIZE_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                 -fsanitize-recover=null -fno-omit-frame-pointer
sanitize: setup
	cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_C_FLAGS_DEBUG="-O1 -g1" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
	  -DCMAKE_C_FLAGS="$(SANITIZE_FLAGS)" -DCMAKE_CXX_FLAGS="$(SANITIZE_FLAGS)" \
	  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
	cmake --build $(ASAN_DIR) -j $(JOBS)
	./scripts/sanitize.sh $(ASAN_DIR)

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_DIR) $(ASAN_DIR)
