# tokengate — make demo to see it work, make test to run every test.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       := bin/tokengate
FUZZTIME  ?= 5s
CONFIG    ?= deploy/config.example.yaml

.PHONY: all build run demo test unit fuzz lint bench clean

all: lint test build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/tokengate

run: build
	$(BIN) serve --config $(CONFIG)

# A development identity provider, tokengate and a sample dashboard on localhost.
demo:
	$(GO) run ./cmd/tokengate demo

# Unit, integration and end-to-end tests, then a short run of every fuzz target.
# End-to-end tests skip with a reason when nginx/caddy/redis-server are missing, unless
# E2E=required (as in CI), where a missing binary fails.
test: unit manifests fuzz

# Render the Helm chart with helm and strictly decode every rendered and example manifest
# (deploy/check is its own Go module, so k8s.io stays out of tokengate's). helm is installed
# into bin/ on first use, which takes a few minutes once.
HELM ?= $(CURDIR)/bin/helm
manifests: $(HELM)
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
unit:
	$(GO) test -race -count=1 -timeout 15m $$($(GO) list ./... | grep -v '/e2e$$')
	$(GO) test -race -count=1 -timeout 10m -v ./e2e

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzOpen$$' -fuzztime $(FUZZTIME) ./session
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeSession$$' -fuzztime $(FUZZTIME) ./session
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./session
	$(GO) test -run '^$$' -fuzz '^FuzzRedirectSafe$$' -fuzztime $(FUZZTIME) ./handlers
	$(GO) test -run '^$$' -fuzz '^FuzzParseForward$$' -fuzztime $(FUZZTIME) ./handlers

lint:
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

# The /auth hot-path benchmark of issue 7 (results and method in BENCHMARKS.md): the real
# tokengate binary against a bare net/http baseline under wrk, 3 rounds at 16 and 64
# connections, then every Go micro-benchmark with allocation counts. Variants go through
# BENCHFLAGS, e.g. make bench BENCHFLAGS='--sessions 10000' or BENCHFLAGS='--groups 200'.
# wrk is a Debian package: installed here when running as root, else the command is printed.
BENCHFLAGS ?=
bench:
	@command -v wrk >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; \
		else echo "wrk is missing: run 'sudo apt-get install -y wrk' and make bench again"; exit 1; fi; }
	$(GO) run ./cmd/tokengate-bench $(BENCHFLAGS)
	$(GO) test -run '^$$' -bench . -benchmem $$($(GO) list ./... | grep -v '/e2e$$')

clean:
	rm -rf bin
