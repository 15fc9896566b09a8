# earshot - the two commands of the README, and a few helpers.
#   make demo   build, import the bundled example capture, list its calls, show an answered one,
#               verify every recording against the signed ledger, then serve the web UI on
#               DEMO_LISTEN (user "demo", password DEMO_PASSWORD) until Ctrl-C
#   make test   build and run every test (hardened Release build; the RelWithDebInfo build runs its
#               unit tests), then again under ASan+UBSan, then the fuzzers (scripts/test)
BUILD      ?= build
DEMO_DATA  ?= earshot-data-demo
DEMO_LISTEN ?= 127.0.0.1:8080
DEMO_PASSWORD ?= earshot-demo
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all bootstrap build demo test bench fuzz clean

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@rm -rf $(DEMO_DATA)
	$(BUILD)/earshot --data $(DEMO_DATA) import examples/demo.pcap
	$(BUILD)/earshot --data $(DEMO_DATA) calls
	@id=$$($(BUILD)/earshot --data $(DEMO_DATA) calls --outcome answered --limit 1 --csv | sed -n 2p | cut -d, -f1); \
	echo "$(BUILD)/earshot --data $(DEMO_DATA) show $$id"; \
	$(BUILD)/earshot --data $(DEMO_DATA) show $$id
	$(BUILD)/earshot --data $(DEMO_DATA) verify --all
	@echo '$(DEMO_PASSWORD)' | $(BUILD)/earshot --data $(DEMO_DATA) user add demo --role admin --password-stdin
	@echo
	@echo "The web UI: http://$(DEMO_LISTEN)/  log in as demo, password $(DEMO_PASSWORD)"
	@echo "(Ctrl-C stops the server; the data stays in $(DEMO_DATA))"
	@exec $(BUILD)/earshot --data $(DEMO_DATA) serve --listen $(DEMO_LISTEN) --web web

test: bootstrap
	@scripts/test

bench: build
	@bench/run.sh --build $(BUILD)

fuzz: bootstrap
	@FUZZ_ONLY=1 scripts/test

clean:
	rm -rf $(BUILD) build-asan build-fuzz $(DEMO_DATA)
