#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The traces recorded from a real Linux guest (fuzz/corpus/trace_*/guest-*.bin, made by
# scripts/record-corpus) replay in check mode with no divergence: the device still
# answers every register read, raises every interrupt and calls its backend exactly as
# it did for the guest. A change in device behaviour shows up here as the first record
# that differs. The "-min" seeds are minimised for the fuzzers and do not replay
# faithfully by design, so they are left out.
#
#   tests/trace/guest_traces.sh VDEV_TRACE CORPUS_DIR
set -euo pipefail
tool=$1
corpus=$2
passed=0
failed=0
for f in "$corpus"/trace_*/guest-*.bin; do
	case $f in *-min.bin) continue ;; esac
	args=()
	case $f in */trace_*_cfgaccess/*) args+=(--cfg-access) ;; esac
	if out=$("$tool" replay "$f" "${args[@]}" 2>&1); then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $f ${args[*]}: $out"
	fi
done
echo "$passed guest traces replayed identically, $failed diverged"
[ "$passed" -gt 0 ] || { echo "FAIL: no guest traces found under $corpus"; exit 1; }
[ "$failed" -eq 0 ]
