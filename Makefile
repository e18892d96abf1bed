# The README's two commands are `make demo` and `make test`; everything else is a helper.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps test-deps build demo test unit-test sanitize bench soak format format-check clean

all: build

deps:
	scripts/install-deps.sh build

test-deps:
	scripts/install-deps.sh test

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

## build: compile everything; the binary is build/user-export
build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

## demo: install, build, and run one export on the embedded default backends in ./demo
demo: build
	$(BUILD_DIR)/user-export demo --dir demo

## test: install, build, start the test services, run every test, stop the services
test: test-deps build
	scripts/run-tests.sh $(BUILD_DIR)

## soak: 200 crash-anywhere cycles (SIGKILL at random moments) on PostgreSQL, S3 and Kafka
soak: test-deps build
	scripts/soak.sh $(BUILD_DIR) 200 3600

## sanitize: unit tests under AddressSanitizer and UndefinedBehaviorSanitizer
sanitize: test-deps
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DUE_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan --output-on-failure -L unit -j $(JOBS)

## bench: benchmarks (see BENCHMARKS.md)
bench: test-deps build
	scripts/bench.sh $(BUILD_DIR)

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

format-check:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD_DIR) build-asan demo
