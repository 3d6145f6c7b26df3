# humpty - plain `make`; nothing but a C++17 compiler and POSIX threads.
#
#   make                 build/libhumpty.a and build/humpty
#   make test            build and run the tests (Catch2, vendored)
#   make bench           time the solver on the published puzzle (bench/run.sh)
#   make bench-hard      the hard suite of generated puzzles (bench/hard.sh, bench/hard.txt)
#   make sanitize        the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make sanitize-fast   the same without the slow searches (CI)
#   make sanitize-thread the tests but the slowest under ThreadSanitizer (needs clang++)
#   make fuzz            libFuzzer on every reader for FUZZ_SECONDS (needs clang++)
#   make demo            build, then `humpty demo` (no files needed)
#   make check-arm64     cross-build for arm64 and run it under qemu (scripts/check-arm64.sh)
#   make install PREFIX=/usr/local DESTDIR=     (and make uninstall)
#   make clean
#
# Switches: CXX=clang++, CXXFLAGS (default -O2 -g), WERROR=0 (for embedding), NATIVE=1
# (-march=native), SANITIZE=1 (or thread), TEST_OPT (default -O0, see below), STATIC_RUNTIME=0 (see below).

CXXFLAGS ?= -O2 -g
# The tests' own code is compiled without optimisation; the library they test keeps CXXFLAGS.
# Catch2's runner alone takes 41 s to compile at -O2 -g and 18 s at -O0 (a third of the tests'
# build, on one core), and no test runs slower: the work is in the library. TEST_OPT= (empty)
# compiles the tests with CXXFLAGS alone.
TEST_OPT ?= -O0
WERROR ?= 1
NATIVE ?= 0
SANITIZE ?= 0
PREFIX ?= /usr/local
BUILD ?= build

# -ffp-contract=off: no fused multiply-add, so that every build and every kernel rounds alike.
BASE_FLAGS := -std=c++17 -Wall -Wextra -Wpedantic -ffp-contract=off -pthread
ifeq ($(WERROR),1)
BASE_FLAGS += -Werror
endif
ifeq ($(NATIVE),1)
BASE_FLAGS += -march=native
endif
ifeq ($(SANITIZE),1)
# GCC warns falsely about maybe-uninitialized values inside sanitized libstdc++ code.
BASE_FLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -DHUMPTY_ASSERTIONS
ifeq ($(findstring clang,$(CXX)),)
BASE_FLAGS += -Wno-maybe-uninitialized
endif
BUILD := build-sanitize
endif
ifeq ($(SANITIZE),thread)
# The thread pool's workers share the search's tables; ThreadSanitizer checks that every such
# access is ordered by the pool's own synchronisation. Not with ASan: the two cannot share a binary.
BASE_FLAGS += -fsanitize=thread -fno-omit-frame-pointer -DHUMPTY_ASSERTIONS
BUILD := build-tsan
endif
ALL_CXXFLAGS := $(BASE_FLAGS) $(CXXFLAGS)
LDLIBS += -pthread
# build/humpty links the C++ runtime statically where the compiler can (a trial link decides):
# loading libstdc++ took 1.7 ms of the 5.5 ms `humpty --version` takes (perf stat, 50 runs), a tenth
# of the data-free solve `make bench` times, and the binary then also runs where the system's
# libstdc++ is older than the compiler's. Not in the sanitized build, whose runtime replaces
# operator new. STATIC_RUNTIME=0 links it dynamically.
STATIC_RUNTIME ?= 1
CLI_LDFLAGS :=
ifeq ($(STATIC_RUNTIME)$(SANITIZE),10)
CLI_LDFLAGS := $(shell echo 'int main() {}' | $(CXX) -x c++ -static-libstdc++ -static-libgcc -o /dev/null - \
                 >/dev/null 2>&1 && echo -static-libstdc++ -static-libgcc)
endif

LIB_SRC := $(wildcard src/*.cpp)
LIB_OBJ := $(LIB_SRC:src/%.cpp=$(BUILD)/obj/%.o)
CLI_OBJ := $(BUILD)/obj/cli/main.o
TEST_SRC := $(wildcard tests/test_*.cpp)
TEST_OBJ := $(TEST_SRC:tests/%.cpp=$(BUILD)/obj/tests/%.o) $(BUILD)/obj/tests/support.o
CATCH_OBJ := $(BUILD)/obj/tests/catch_main.o
BENCH_OBJ := $(BUILD)/obj/bench/peak.o $(BUILD)/obj/bench/timeit.o $(BUILD)/obj/bench/load.o

.PHONY: all test bench bench-hard sanitize sanitize-fast sanitize-thread fuzz install uninstall clean demo check-arm64
all: $(BUILD)/libhumpty.a $(BUILD)/humpty

# Objects are rebuilt when the compiler or the flags change, not only when sources do.
$(BUILD)/build-flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CXX) $(ALL_CXXFLAGS) tests: $(TEST_OPT) cli: $(CLI_LDFLAGS)' | cmp -s - $@ || \
	  echo '$(CXX) $(ALL_CXXFLAGS) tests: $(TEST_OPT) cli: $(CLI_LDFLAGS)' > $@
FORCE:

$(BUILD)/obj/%.o: src/%.cpp $(BUILD)/build-flags
	@mkdir -p $(@D)
	$(CXX) $(ALL_CXXFLAGS) -Iinclude -Isrc -MMD -MP -c $< -o $@

$(BUILD)/obj/cli/main.o: src/cli/main.cpp $(BUILD)/build-flags
	@mkdir -p $(@D)
	$(CXX) $(ALL_CXXFLAGS) -Iinclude -MMD -MP \
	  -DHUMPTY_BUILD_COMPILER='"$(CXX)"' -DHUMPTY_BUILD_FLAGS='"$(ALL_CXXFLAGS)"' -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.cpp $(BUILD)/build-flags
	@mkdir -p $(@D)
	$(CXX) $(ALL_CXXFLAGS) $(TEST_OPT) -Iinclude -Isrc -isystem third_party/catch2 -MMD -MP \
	  -DHUMPTY_CLI='"$(BUILD)/humpty"' -c $< -o $@

$(BUILD)/obj/bench/%.o: bench/%.cpp $(BUILD)/build-flags
	@mkdir -p $(@D)
	$(CXX) $(ALL_CXXFLAGS) -Iinclude -Isrc -MMD -MP -c $< -o $@

$(BUILD)/libhumpty.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/humpty: $(CLI_OBJ) $(BUILD)/libhumpty.a
	$(CXX) $(ALL_CXXFLAGS) $(LDFLAGS) $(CLI_LDFLAGS) $^ $(LDLIBS) -o $@

# The library's objects first: where a template (std::vector<float>'s growth, std::fill, ...) is
# compiled into both the library and the tests, the linker keeps the first copy it meets, and
# with the tests first that was their TEST_OPT (-O0) copy, run by the library's own hot paths
# (6% of the search tests' time went to an unoptimised std::fill; 2026-12-06).
$(BUILD)/humpty_tests: $(LIB_OBJ) $(TEST_OBJ) $(CATCH_OBJ)
	$(CXX) $(ALL_CXXFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/humpty_peak: $(BUILD)/obj/bench/peak.o $(BUILD)/libhumpty.a
	$(CXX) $(ALL_CXXFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/humpty_loadbench: $(BUILD)/obj/bench/load.o $(BUILD)/libhumpty.a
	$(CXX) $(ALL_CXXFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/humpty_timeit: $(BUILD)/obj/bench/timeit.o
	$(CXX) $(ALL_CXXFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/obj/examples/%.o: examples/%.cpp $(BUILD)/build-flags
	@mkdir -p $(@D)
	$(CXX) $(ALL_CXXFLAGS) -Iinclude -MMD -MP -c $< -o $@

$(BUILD)/embed: $(BUILD)/obj/examples/embed.o $(BUILD)/libhumpty.a
	$(CXX) $(ALL_CXXFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The tests, then the embedding example (the README's library use must keep compiling and
# solving).
test: $(BUILD)/humpty_tests $(BUILD)/humpty $(BUILD)/embed
	./$(BUILD)/humpty_tests
	./$(BUILD)/embed

demo: $(BUILD)/humpty
	./$(BUILD)/humpty demo

check-arm64:
	BUILD_ARM=build-arm64 NATIVE_BIN=$(BUILD)/humpty scripts/check-arm64.sh

bench: $(BUILD)/humpty $(BUILD)/humpty_peak $(BUILD)/humpty_timeit $(BUILD)/humpty_loadbench
	BUILD=$(BUILD) bench/run.sh

# The hard suite (bench/hard.txt): see bench/hard.sh for HARD_LIMIT, HARD_ONLY, HARD_THREADS,
# HARD_VARIANTS, HARD_SUITE, HARD_SEED and HARD_PYTHON (bench/hard-torch.txt: nets trained by PyTorch;
# bench/hard-big.txt: 96 and 128 blocks, with HARD_LIMIT=120 HARD_ORDER_LIMIT=60;
# bench/hard-nobias.txt: layers without biases; bench/hard-untrained.txt: untrained nets, 12-64
# blocks).
bench-hard: $(BUILD)/humpty
	BUILD=$(BUILD) bench/hard.sh

sanitize:
	$(MAKE) SANITIZE=1 test

# The sanitized tests without the slow searches and the README's runs (for CI): [slow] is the
# weak-fingerprint 24-block proof (105 s of the CI's sanitized run, 14 s unsanitized) and the
# moved-weight prior's 32-block solves (7 s unsanitized) and a trained square net's roles from a
# later split of the data's (12 s sanitized, 1.4 s not; the untrained one's run); [every-option] runs the command line
# ~200 times (13 s sanitized, 1 s not); [heavy] marks the six tests that took 10-20 s each under
# the sanitizers (32-45 s with both processes running) and whose code runs in a lighter test too
# (the published puzzle in float16: float16 pieces; a generated puzzle's solves; the relaxation's
# pairs: soft pairing and soft permutation; a 16-block soft permutation's proof: from no order;
# the untrained nets finished by known pairs or a prefix: the known pairs' and prefix's own
# solves): without them the run took 165 s instead of 199 s (user time 293 s against 361 s). The
# tests run as two processes at once, each with its own log printed when both are done: the
# search and relaxation tests (about half the sanitized time) and the rest.
SANITIZE_SKIP := ~[hard]~[readme]~[generate]~[report]~[slow]~[every-option]~[heavy]
sanitize-fast:
	$(MAKE) SANITIZE=1 build-sanitize/humpty_tests build-sanitize/humpty
	@rc=0; \
	./build-sanitize/humpty_tests -\# "[#test_search]$(SANITIZE_SKIP),[#test_relax]$(SANITIZE_SKIP)" \
	  > build-sanitize/shard-1.log 2>&1 & one=$$!; \
	./build-sanitize/humpty_tests -\# "~[#test_search]~[#test_relax]$(SANITIZE_SKIP)" \
	  > build-sanitize/shard-2.log 2>&1 & two=$$!; \
	wait $$one || rc=1; wait $$two || rc=1; \
	echo "sanitize-fast: the search and relaxation tests"; cat build-sanitize/shard-1.log; \
	echo "sanitize-fast: the other tests"; cat build-sanitize/shard-2.log; \
	exit $$rc

# Every test but the slowest searches and the README's runs (SANITIZE_SKIP) under ThreadSanitizer,
# with clang++ at -O1 (-O1 keeps its reports readable): the pool's workers (src/parallel.cpp) write
# the search's shared tables, and a race there would break the promise of the same bytes for any
# --threads. Not in CI: the build and run took 551 s on two cores (docs/MEASUREMENTS.md).
sanitize-thread:
	$(MAKE) SANITIZE=thread CXX=clang++ CXXFLAGS="-O1 -g" build-tsan/humpty_tests build-tsan/humpty
	TSAN_OPTIONS=halt_on_error=1 ./build-tsan/humpty_tests "$(SANITIZE_SKIP)"

# The readers of untrusted bytes (.pth, .humpty, CSV, answers) under libFuzzer with ASan and
# UBSan; checksums are not enforced in this build so that the fuzzer gets past them. One object per
# source (coverage-instrumented, libFuzzer linked at the end), so that `make -j` builds it in
# parallel: as one clang++ command it was about two minutes of the CI's run on one core. The
# objects depend on this Makefile, which holds their flags.
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -std=c++17 -O1 -g -DHUMPTY_FUZZING -fsanitize=address,undefined \
  -fno-sanitize-recover=undefined -ffp-contract=off -pthread
FUZZ_OBJ := $(LIB_SRC:src/%.cpp=build-fuzz/obj/%.o) build-fuzz/obj/fuzz_readers.o

FUZZ_COMPILE = clang++ $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -Iinclude -Isrc -MMD -MP -c $< -o $@

build-fuzz/obj/%.o: src/%.cpp Makefile
	@mkdir -p $(@D)
	$(FUZZ_COMPILE)

build-fuzz/obj/%.o: fuzz/%.cpp Makefile
	@mkdir -p $(@D)
	$(FUZZ_COMPILE)

build-fuzz/fuzz_readers: $(FUZZ_OBJ)
	clang++ $(FUZZ_FLAGS) -fsanitize=fuzzer $^ -o $@

fuzz: build-fuzz/fuzz_readers
	@mkdir -p build-fuzz/corpus
	cp fuzz/corpus/* build-fuzz/corpus/
	cd build-fuzz && ./fuzz_readers -max_total_time=$(FUZZ_SECONDS) -max_len=30000 -rss_limit_mb=4096 corpus

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/humpty \
	  $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/humpty $(DESTDIR)$(PREFIX)/bin/humpty
	install -m 644 $(BUILD)/libhumpty.a $(DESTDIR)$(PREFIX)/lib/libhumpty.a
	install -m 644 include/humpty/*.hpp $(DESTDIR)$(PREFIX)/include/humpty/
	install -m 644 docs/humpty.1 $(DESTDIR)$(PREFIX)/share/man/man1/humpty.1
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: humpty\nDescription: puts a dropped residual network back together\nVersion: 0.1.0\nLibs: -L$${libdir} -lhumpty -pthread\nCflags: -I$${includedir} -std=c++17\n' \
	  '$(PREFIX)' > $(DESTDIR)$(PREFIX)/lib/pkgconfig/humpty.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/humpty $(DESTDIR)$(PREFIX)/lib/libhumpty.a \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/humpty.pc $(DESTDIR)$(PREFIX)/share/man/man1/humpty.1
	rm -rf $(DESTDIR)$(PREFIX)/include/humpty

clean:
	rm -rf build build-sanitize build-tsan build-fuzz build-arm64 build-clang

-include $(wildcard build-fuzz/obj/*.d)
-include $(BUILD)/obj/examples/embed.d $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(CATCH_OBJ:.o=.d) $(BENCH_OBJ:.o=.d)
