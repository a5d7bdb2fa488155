#!/usr/bin/env bash
# Runs the PHP package's PHPUnit suite (Debian's phpunit 9) against the release C library.
# The tests start the sandbox receiver themselves (python -m convtrack.sandbox from .venv, or $PYTHON), and
# FpmTest a real php-fpm on a unix socket (Debian's php-fpm, which `make deps` installs; or $PHP_FPM).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
if [ -z "${CONVTRACK_LIB:-}" ]; then
  cargo build --quiet --release -p convtrack-c
  case $target in /*) ;; *) target="$(pwd)/$target" ;; esac # CARGO_TARGET_DIR may be absolute
  export CONVTRACK_LIB="$target/release/libconvtrack.so"
fi
export PYTHON=${PYTHON:-$(pwd)/.venv/bin/python}
exec phpunit -c bindings-php/phpunit.xml "$@"
