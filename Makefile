# tokengate — make demo to see it work, make test to run every test.
GO        ?= go
# --- version (chart appVersion ties the binary, the image and the chart together) ---
# The chart's appVersion is the release version: a build of the commit tagged v$(APP_VERSION)
# is $(APP_VERSION); any other build is $(APP_VERSION)-dev+<commit>, so `tokengate version`
# always names the chart release it belongs to. Build the image with
#   docker build --build-arg VERSION=$$(make -s version).
APP_VERSION := $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' deploy/helm/tokengate/Chart.yaml)
VERSION   ?= $(if $(filter v$(APP_VERSION),$(shell git describe --tags --exact-match 2>/dev/null)),$(APP_VERSION),$(APP_VERSION)-dev+$(shell git describe --always --dirty 2>/dev/null || echo unknown))
# --- end version ---
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin/tokengate
FUZZTIME  ?= 5s
CONFIG    ?= deploy/config.example.yaml

.PHONY: help all build run demo test unit fuzz lint bench stress clean version

all: lint test build

help: ## List the targets
	@awk -F':.*## ' '/^[a-z][a-z-]*:.*## /{printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

version: ## Print the version the binary and the chart's appVersion carry
	@echo $(VERSION)

build: ## Build bin/tokengate
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/tokengate

run: build ## Build and serve with CONFIG (deploy/config.example.yaml)
	$(BIN) serve --config $(CONFIG)

# A development identity provider, tokengate and a sample dashboard on localhost.
demo: ## Development IdP, tokengate and a sample dashboard on localhost
	$(GO) run ./cmd/tokengate demo

# Unit, integration and end-to-end tests, then a short run of every fuzz target.
# End-to-end tests skip with a reason when nginx/caddy/redis-server are missing, unless
# E2E=required (as in CI), where a missing binary fails.
test: unit manifests fuzz ## Every test: unit, e2e, manifests and a short fuzz run

# Render the Helm chart with helm and strictly decode every rendered and example manifest
# (deploy/check is its own Go module, so k8s.io stays out of tokengate's). helm is installed
# into bin/ on first use, which takes a few minutes once.
HELM ?= $(CURDIR)/bin/helm
manifests: $(HELM) ## Render the Helm chart and check every manifest
	cd deploy/check && HELM=$(HELM) $(GO) test -count=1 ./...

$(CURDIR)/bin/helm:
	GOBIN=$(CURDIR)/bin $(GO) install helm.sh/helm/v3/cmd/helm@v3.22.0

# --- real Kubernetes API server (kube-apiserver + etcd) -------------------------------------
# Built once from the Go module proxy into bin/, like helm, and reused after that; each comes
# from its own pinning module under tools/ (k8s.io/kubernetes v1.37.2 wants the etcd v3.7
# client libraries, the etcd server is v3.6.16). The end-to-end tests find them in bin/ or
# through KUBE_APISERVER and ETCD. Cold build on 2 cores: see README.
KUBE_VERSION   := v1.37.2
KUBE_LDFLAGS   := -s -w -X k8s.io/component-base/version.gitVersion=$(KUBE_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 \
	-X k8s.io/component-base/version.gitTreeState=clean

.PHONY: kube
kube: $(CURDIR)/bin/kube-apiserver $(CURDIR)/bin/etcd

# No prerequisites, like helm: a CI cache of bin/ is older than a fresh checkout's go.mod and
# would be rebuilt every time. After changing tools/*/go.mod, remove bin/ (make clean).
$(CURDIR)/bin/kube-apiserver:
	cd tools/kube-apiserver && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(KUBE_LDFLAGS)' \
		-o $@ k8s.io/kubernetes/cmd/kube-apiserver

$(CURDIR)/bin/etcd:
	cd tools/etcd && CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $@ go.etcd.io/etcd/server/v3

# The end-to-end tests, the manifest checks (server-side dry-run) and the demo use them; a
# prerequisite only, the recipes stay above.
unit: kube
manifests: kube
# --- end real Kubernetes API server ----------------------------------------------------------

# e2e runs on its own with -v, so that a skip (nginx or caddy missing) prints its reason.
unit: ## Unit, integration and e2e tests under -race
	$(GO) test -race -count=1 -timeout 15m $$($(GO) list ./... | grep -v '/e2e$$')
	$(GO) test -race -count=1 -timeout 10m -v ./e2e

# --- lean image build (doctor without CEL; BENCHMARKS.md, "Binary") ---
# The Dockerfile builds with -tags tokengate_omit_cel; test that build's doctor as well.
.PHONY: unit-omit-cel
unit: unit-omit-cel
unit-omit-cel: ## doctor's tests and a type check in the tokengate_omit_cel build the image ships
	$(GO) test -race -count=1 -tags tokengate_omit_cel ./internal/doctor
	$(GO) vet -tags tokengate_omit_cel ./cmd/tokengate
# --- end lean image build ---

fuzz: ## Run each fuzz target for FUZZTIME
	$(GO) test -run '^$$' -fuzz '^FuzzOpen$$' -fuzztime $(FUZZTIME) ./session
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeSession$$' -fuzztime $(FUZZTIME) ./session
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./session
	$(GO) test -run '^$$' -fuzz '^FuzzRedirectSafe$$' -fuzztime $(FUZZTIME) ./internal/forward
	$(GO) test -run '^$$' -fuzz '^FuzzParseForward$$' -fuzztime $(FUZZTIME) ./internal/forward
	$(GO) test -run '^$$' -fuzz '^FuzzParseEnvoy$$' -fuzztime $(FUZZTIME) ./internal/forward
	$(GO) test -run '^$$' -fuzz '^FuzzParseEmail$$' -fuzztime $(FUZZTIME) ./internal/identity
	$(GO) test -run '^$$' -fuzz '^FuzzPublicDescription$$' -fuzztime $(FUZZTIME) ./internal/idp

# staticcheck is installed into bin/ on first use, pinned like helm.
STATICCHECK ?= $(CURDIR)/bin/staticcheck
lint: $(STATICCHECK) ## go vet, gofmt and staticcheck (deploy/check, its own module, included)
	$(GO) vet ./...
	$(STATICCHECK) ./...
	cd deploy/check && $(GO) vet ./... && $(STATICCHECK) ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

# The /auth hot-path benchmark (results and method in BENCHMARKS.md): the real
# tokengate binary against a bare net/http baseline under wrk, 3 rounds at 16 and 64
# connections, then every Go micro-benchmark with allocation counts. Variants go through
# BENCHFLAGS, e.g. make bench BENCHFLAGS='--sessions 10000' or BENCHFLAGS='--groups 200'.
# wrk is a Debian package: installed here when running as root, else the command is printed.
BENCHFLAGS ?=
bench: ## The /auth benchmark against a bare net/http baseline, then Go benchmarks
	@command -v wrk >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; \
		else echo "wrk is missing: run 'sudo apt-get install -y wrk' and make bench again"; exit 1; fi; }
	$(GO) run ./cmd/tokengate-bench $(BENCHFLAGS)
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./... | grep -v '/e2e$$')

# Every concurrency test (shared flights, refresh locks, races between replicas), run
# STRESS_COUNT times under the race detector. Not part of make test: run it before landing a
# change to anything concurrent. A failure here is a race to find, never a retry to add.
STRESS_COUNT ?= 500
STRESS_TESTS := \
	./session='^(TestGroups|TestTokenCache|TestShared|TestFlight|TestTwoTabs|TestLimitedRefresher|TestRedisStoreSharedRead|TestRedisStoreReadGivesUp)' \
	./internal/devidp='^TestConcurrent' \
	./cmd/tokengate='^(TestConcurrent|TestRedisConcurrent|TestServeReadiness)'
stress: ## Every concurrency test STRESS_COUNT (500) times under -race
	@set -e; for t in $(STRESS_TESTS); do \
		pkg=$${t%%=*}; run=$${t#*=}; \
		echo "stress: $$pkg -run $$run -count $(STRESS_COUNT)"; \
		$(GO) test -race -count=$(STRESS_COUNT) -timeout 60m -run "$$run" $$pkg; \
	done

$(CURDIR)/bin/staticcheck:
	GOBIN=$(CURDIR)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

# --- Traefik for the end-to-end tests ------------------------------------------------------
# Traefik is not a Debian package and its module cannot be built from the Go module proxy, so
# `make traefik TRAEFIK_XZ=<traefik-v3.7.9-linux-amd64.xz>` unpacks the release binary into bin/
# and checks its sha256 (.ci/run names the archive CI has). Idempotent: a verified
# bin/traefik is kept. `make unit` unpacks it first when TRAEFIK_XZ is set; without it
# the Traefik e2e tests skip (or fail with E2E=required).
TRAEFIK_XZ     ?=
TRAEFIK_SHA256 := 51c9631e11e5d96d67e8255d7551aa5bcbdeced194a4d01c2f0dff43d5f51355

.PHONY: traefik
traefik: ## Unpack and verify Traefik v3.7.9 from TRAEFIK_XZ into bin/
	@if [ -x bin/traefik ] && echo "$(TRAEFIK_SHA256)  bin/traefik" | sha256sum -c --status -; then exit 0; fi; \
	command -v xz >/dev/null 2>&1 || { echo "xz is missing: apt-get install xz-utils"; exit 1; }; \
	mkdir -p bin && xz -dc "$(TRAEFIK_XZ)" > bin/traefik.tmp && \
	if ! echo "$(TRAEFIK_SHA256)  bin/traefik.tmp" | sha256sum -c --status -; then \
		rm -f bin/traefik.tmp; echo "$(TRAEFIK_XZ) does not unpack to the expected Traefik v3.7.9 (sha256 mismatch)"; exit 1; fi; \
	chmod +x bin/traefik.tmp && mv bin/traefik.tmp bin/traefik && echo "unpacked Traefik v3.7.9 into bin/traefik"

unit: $(if $(TRAEFIK_XZ),traefik)
# --- end Traefik -------------------------------------------------------------------------

clean: ## Remove bin/
	rm -rf bin
