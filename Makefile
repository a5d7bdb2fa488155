# The commands the README names. Nothing hidden: each target says what it runs.
#   make demo   build the Python package into .venv and run the demo (sample orders through build)
#   make test   install what the tests need, then run every test suite
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CARGO ?= cargo
export CARGO_TERM_COLOR := never

.PHONY: celery-test django-test feed-test demo test deps venv wheel rust-test header-check c-test valgrind php-test php-package-test python-test browser-test fuzz stubtest header fmt lint

demo: wheel
	$(VENV)/bin/convtrack demo

test: deps lint rust-test header-check c-test valgrind php-test python-test celery-test django-test php-package-test browser-test fuzz stubtest
	@echo "all test suites passed"

# System packages the tests need (CI machines start fresh; we are root there).
deps:
	@if ! command -v php >/dev/null || ! php -m 2>/dev/null | grep -qi '^ffi$$' || ! command -v phpunit >/dev/null \
	    || ! ls /usr/sbin/php-fpm* >/dev/null 2>&1; then \
	  echo "installing php-cli, php-fpm and phpunit (for the PHP FFI and package tests; FpmTest runs a real php-fpm)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq php-cli php-fpm phpunit) >/dev/null; \
	fi
	@command -v gcc >/dev/null && command -v g++ >/dev/null

$(VENV)/bin/python:
	python3 -m venv $(VENV)

venv: $(VENV)/bin/python
	$(PY) -m pip install -q --disable-pip-version-check 'maturin>=1.5,<2' 'pytest>=7' 'mypy>=1.8' 'hypothesis>=6' 'Django>=4.2' 'celery[redis]>=5.3'

# Build the abi3 wheel and install it into the venv, exactly as a shop would install it.
wheel: venv
	rm -rf target/wheels
	$(VENV)/bin/maturin build --release --quiet -o target/wheels
	$(PY) -m pip install -q --disable-pip-version-check --force-reinstall --no-deps target/wheels/convtrack-*.whl

rust-test:
	$(CARGO) test --quiet

# Formatting (rustfmt.toml) for the workspace and the separate fuzz crate.
fmt:
	$(CARGO) fmt --all
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml

# What CI checks before the tests: formatting, the core's one-way layers (scripts/layers.py), clippy with warnings as errors on every
# target (clippy.toml allows unwrap in tests), ruff on the Python package, tests and benches.
lint: venv
	$(CARGO) fmt --all --check
	python3 scripts/layers.py
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml --check
	$(CARGO) clippy --workspace --all-targets --quiet -- -D warnings
	$(PY) -m pip install -q --disable-pip-version-check 'ruff>=0.6'
	$(VENV)/bin/ruff check python/convtrack tests benches

header:
	scripts/gen-header.sh

header-check:
	scripts/gen-header.sh --check

c-test:
	bash tests/c/run.sh

valgrind:
	bash tests/c/valgrind.sh

php-test: deps wheel
	bash tests/php/run.sh

# The PHP package (bindings-php/): PHPUnit against the release cdylib and the real sandbox receiver.
php-package-test: deps wheel
	bash bindings-php/tests/run.sh

python-test: wheel
	cd tests/python && ../../$(PY) -m pytest -q

# Celery delivery against a real redis-server (Debian package, installed if missing) and
# real worker subprocesses; see docs/celery.md.
.PHONY: celery-test
celery-test: wheel
	@command -v redis-server >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) >/dev/null
	$(PY) -m pip install -q --disable-pip-version-check 'celery[redis]>=5.3'
	cd tests/celery && ../../$(PY) -m pytest -q -p no:cacheprovider .

# Bounded fuzzing (cargo-fuzz on stable via RUSTC_BOOTSTRAP; see docs/fuzzing.md).
fuzz:
	bash scripts/fuzz.sh 20

# Headless Chromium renders hostile snippets on loopback (installs chromium if missing).
browser-test: wheel
	bash tests/browser/run.sh

stubtest: wheel
	$(PY) -m mypy.stubtest convtrack --allowlist tests/python/stubtest-allowlist.txt
	$(PY) -m mypy --strict python/convtrack

# Catalog feed export (issue 6): core unit tests, the C checks, the CLI end to end at 1M products.
feed-test: wheel
	$(CARGO) test -p convtrack-core --quiet --lib -- catalog content_id input::
	cd tests/python && ../../$(PY) -m pytest -q test_feed.py

# The Django app in a real project (tests/django): installs Django + pytest-django into the venv.
.PHONY: django-test
django-test: wheel
	$(PY) -m pip install -q --disable-pip-version-check 'Django>=4.2' 'pytest-django>=4.5'
	cd tests/django && ../../$(PY) -m pytest -q
