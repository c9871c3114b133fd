# assetd — build. `make` builds build/assetd; `make tests` the test binaries;
# `make asan` the unit tests under AddressSanitizer + UBSan in build-asan/.
# Dependencies are found with pkg-config; ONNX Runtime's headers come from
# deps/ (scripts/setup.sh) and its library is dlopen'ed at run time.

PKGS      := vips zlib sqlite3 jansson libpq libcurl libcrypto
CC        ?= cc
OPT       ?= -O2
WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
             -Wmissing-prototypes -Wvla -Wno-unused-parameter
# -ffp-contract=off: no FMA, so matte/ reproduces the reference's rounding.
CFLAGS    += -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) -ffp-contract=off -pthread \
             -Isrc -isystem deps/onnxruntime/include $(shell pkg-config --cflags $(PKGS))
LDLIBS    += $(shell pkg-config --libs $(PKGS)) -ldl -lm -pthread

B         ?= build

# Library modules: everything but the CLI front.
LIB_SRC   := $(wildcard src/base/*.c src/config/*.c src/image/*.c src/infer/*.c \
                        src/matte/*.c src/calib/*.c src/cutout/*.c src/store/*.c src/job/*.c \
                        src/http/*.c src/net/*.c src/webhook/*.c src/api/*.c)
CLI_SRC   := $(wildcard src/cli/*.c)
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o)
CLI_OBJ   := $(CLI_SRC:%.c=$(B)/%.o)

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
E2E_SRC   := $(wildcard tests/cli/test_*.c tests/quality/test_*.c)
API_SRC   := $(wildcard tests/api/test_*.c)
API_BIN   := $(API_SRC:tests/api/%.c=$(B)/tests/%)
E2E_BIN   := $(foreach f,$(E2E_SRC),$(B)/tests/$(basename $(notdir $(f))))
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BIN  := $(TOOL_SRC:tests/tools/%.c=$(B)/tests/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)

.PHONY: bench-store install uninstall all tests unit-tests bench bench-bin asan fuzz fuzz-targets clean format format-check image image-test
all: $(B)/assetd

$(B)/assetd: $(CLI_OBJ) $(B)/libassetd.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/libassetd.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# the OpenAPI document is assembled into the binary (.incbin)
$(B)/src/api/openapi.o: src/api/openapi.json
# and so is the web console
$(B)/src/api/console.o: $(wildcard src/console/*)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

tests: $(UNIT_BIN) $(E2E_BIN) $(API_BIN) $(TOOL_BIN) $(B)/assetd

unit-tests: $(UNIT_BIN)

$(B)/tests/%: tests/unit/%.c tests/harness.h $(B)/libassetd.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -Itests -o $@ $< $(B)/libassetd.a $(LDLIBS)

$(B)/tests/%: tests/cli/%.c tests/harness.h $(B)/libassetd.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -Itests -o $@ $< $(B)/libassetd.a $(LDLIBS)

# API tests talk HTTP to the real binary with libcurl.
$(B)/tests/%: tests/api/%.c tests/api/client.h tests/harness.h $(B)/libassetd.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -Itests -o $@ $< $(B)/libassetd.a $(LDLIBS)

$(B)/tests/%: tests/quality/%.c tests/harness.h $(B)/libassetd.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -Itests -o $@ $< $(B)/libassetd.a $(LDLIBS)

$(B)/tests/%: tests/tools/%.c tests/harness.h $(B)/libassetd.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -Itests -o $@ $< $(B)/libassetd.a $(LDLIBS)

# `make bench`: assetd beside the peer, see bench/run.sh (not part of the tests).
bench:
	bench/run.sh

# `make bench-store`: SQLite vs PostgreSQL + S3, one vs two instances (bench/store.sh).
bench-store:
	bench/store.sh

bench-bin: $(BENCH_BIN) $(B)/assetd

$(B)/bench/%: bench/%.c $(B)/libassetd.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -Itests -o $@ $< $(B)/libassetd.a $(LDLIBS)

# The unit tests and the server again with ASan + UBSan, in their own tree
# (the API tests then drive build-asan/assetd).
asan:
	$(MAKE) B=build-asan OPT="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" unit-tests build-asan/assetd

# libFuzzer targets (clang-14), library and targets with ASan + UBSan and
# coverage, in build-fuzz/. scripts/fuzz.sh runs them.
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_CC   ?= clang-14
fuzz:
	$(MAKE) B=build-fuzz CC=$(FUZZ_CC) OPT="-O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" fuzz-targets

fuzz-targets: $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)

$(B)/fuzz/%: tests/fuzz/%.c $(B)/libassetd.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(B)/libassetd.a $(LDLIBS)

# `make install [PREFIX=/usr/local] [DESTDIR=]`: the binary, the models and
# the ONNX Runtime library where the binary looks for them
# (PREFIX/lib/assetd), a default config (SYSCONFDIR/assetd/assetd.conf,
# found by the installed binary) and the systemd unit.
PREFIX    ?= /usr/local
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
LIBDIR    := $(PREFIX)/lib/assetd
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/models $(DESTDIR)$(LIBDIR)/onnxruntime/lib \
		$(DESTDIR)$(SYSCONFDIR)/assetd $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/doc/assetd
	install -m 755 $(B)/assetd $(DESTDIR)$(PREFIX)/bin/assetd
	install -m 644 deps/models/isnet-medium.onnx deps/models/isnet-small.onnx $(DESTDIR)$(LIBDIR)/models/
	install -m 644 deps/onnxruntime/lib/libonnxruntime.so $(DESTDIR)$(LIBDIR)/onnxruntime/lib/
	install -d $(DESTDIR)$(LIBDIR)/calibration
	install -m 644 deps/calibration/*.jpg deps/calibration/*.png $(DESTDIR)$(LIBDIR)/calibration/
	test -e $(DESTDIR)$(SYSCONFDIR)/assetd/assetd.conf || \
		install -m 644 packaging/assetd.conf $(DESTDIR)$(SYSCONFDIR)/assetd/assetd.conf
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' packaging/assetd.service.in \
		> $(DESTDIR)$(PREFIX)/lib/systemd/system/assetd.service
	install -m 644 README.md LICENSE $(DESTDIR)$(PREFIX)/share/doc/assetd/

# `make image`: an OCI image from Debian packages (scripts/image.sh; root,
# Debian's archive); `make image-test` runs its server for real.
image:
	scripts/image.sh build/assetd-image.tar

image-test:
	scripts/image-test.sh build/assetd-image.tar

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/assetd $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PREFIX)/share/doc/assetd \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/assetd.service

clean:
	rm -rf build build-asan build-fuzz

format:
	clang-format -i src/*/*.[ch] tests/*.h tests/*/*.c bench/*.c

# The tree as committed is formatted: `make format-check` says where not.
format-check:
	clang-format --dry-run -Werror src/*/*.[ch] tests/*.h tests/*/*.c bench/*.c

-include $(shell find $(B) -name '*.d' 2>/dev/null)
