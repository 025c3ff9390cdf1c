#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Every public header must compile on its own: as C11 with -pedantic, and as C++.
# Usage: check_headers.sh INCLUDE_DIR CC CXX
set -u
inc=$1 cc=$2 cxx=$3
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
for h in "$inc"/vdev/*.h; do
	name=vdev/$(basename "$h")
	printf '#include <%s>\n#include <%s>\nint vdev_header_probe;\n' "$name" "$name" > "$tmp/tu.c"
	cp "$tmp/tu.c" "$tmp/tu.cpp"
	n=$((n + 1))
	if ! "$cc" -std=c11 -pedantic-errors -Wall -Wextra -Werror -fsyntax-only -I"$inc" "$tmp/tu.c"; then
		echo "FAIL: $name does not compile alone as C11"; fail=$((fail + 1))
	fi
	if ! "$cxx" -std=c++11 -pedantic-errors -Wall -Wextra -Werror -fsyntax-only -I"$inc" "$tmp/tu.cpp"; then
		echo "FAIL: $name does not compile alone as C++11"; fail=$((fail + 1))
	fi
done
echo "$n headers checked as C11 and C++11, $fail failures"
[ "$n" -gt 0 ] && [ "$fail" -eq 0 ]
