#!/usr/bin/env bash
# scripts/fuzz_import.sh [SECONDS]: the tar import fuzzer (scripts/fuzz.sh import_fuzz).
exec "$(dirname "$0")/fuzz.sh" import_fuzz "$@"
