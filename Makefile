# Two commands: `make run` (install, build, run a node on the embedded
# default) and `make test` (install, build, run every test through CTest).
# `make fuzz` and `make sanitize` build elsewhere (docs/testing.md); `make compare`
# and `make scale` are benchmarks (tests/bench/README.md).
BUILD_DIR ?= build
JOBS ?= 2
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
ASAN_DIR ?= build-asan

.PHONY: run test setup build bench compare scale clean fuzz sanitize

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

# Starling against Soketi 1.6.1 (installed from npm into ~/.cache on first
# use), same load generator, one run: reports/compare-<date>/report.md.
# QUICK=1: small counts, one repeat. REPEATS=N (3). PEERS=starling alone
# needs no npm. tests/bench/README.md says what each figure is.
COMPARE_ARGS = $(if $(QUICK),--quick) $(if $(REPEATS),--repeats $(REPEATS)) \
               $(if $(PEERS),--peers $(PEERS))
compare: build
	STARLING_SETUP_BENCH=1 ./scripts/setup.sh
	cmake --build $(BUILD_DIR) -j $(JOBS) --target starling starling_loadgen starling_fanout_floor
	./tests/bench/compare.sh --starling $(BUILD_DIR)/starling \
	  --loadgen $(BUILD_DIR)/tests/bench/starling_loadgen \
	  --floor $(BUILD_DIR)/tests/bench/starling_fanout_floor $(COMPARE_ARGS)

# Five nodes over one nats-server, 90,000 idle subscribed connections,
# cluster-wide publishes (minutes; never in CI): reports/scale-<date>/.
scale: build
	./tests/bench/scale.sh --starling $(BUILD_DIR)/starling \
	  --loadgen $(BUILD_DIR)/tests/bench/starling_loadgen $(SCALE_ARGS)

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
