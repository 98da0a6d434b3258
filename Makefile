# Two commands: `make run` (install, build, run a node on the embedded
# default) and `make test` (install, build, run every test through CTest).
BUILD_DIR ?= build
JOBS ?= 2

.PHONY: run test setup build bench clean

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

clean:
	rm -rf $(BUILD_DIR)
