#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# vdev-trace replay/minimize end to end: exit statuses (0 identical, 1 diverged with the
# record named, 2 usage, 3 malformed or not replayable) and minimization that keeps the
# problem while dropping what does not matter.
set -u
tool=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
status() { "$@" >/dev/null 2>&1; echo $?; }

# A modern virtio-rng function: vendor and device id (0x1040 + 4).
cat > "$dir/ok.txt" <<'TRACE'
vdev-trace 1
device type=rng mode=modern flags=msix
param key=max_request_bytes value=0x100
cfg-read off=0x0 width=2 value=0x1af4 result=0
cfg-read off=0x2 width=2 value=0x1044 result=0
TRACE
sed 's/value=0x1044/value=0x1045/' "$dir/ok.txt" > "$dir/bad.txt"

out=$("$tool" replay "$dir/ok.txt") || fail "an identical trace must exit 0"
echo "$out" | grep -q 'identical' || fail "replay says identical: $out"
[ "$(status "$tool" replay --cfg-access "$dir/ok.txt")" = 0 ] || fail "--cfg-access"
out=$("$tool" replay "$dir/bad.txt")
[ $? = 1 ] || fail "a changed read must exit 1"
want='diverged at record 3 (cfg-read off=0x2 width=2): trace says 0x1045, device returned 0x1044'
[ "$out" = "$want" ] || fail "divergence message: '$out'"
[ "$(status "$tool" replay --no-check "$dir/bad.txt")" = 0 ] || fail "--no-check"
# Built as a legacy function the device id is 0x1005.
"$tool" replay --mode legacy "$dir/ok.txt" | grep -q 'returned 0x1005' || fail "--mode legacy"

# Malformed or impossible traces: exit 3.
"$tool" convert "$dir/ok.txt" "$dir/ok.bin" || fail "convert"
head -c 20 "$dir/ok.bin" > "$dir/cut.bin"
[ "$(status "$tool" replay "$dir/cut.bin")" = 3 ] || fail "a truncated trace must exit 3"
sed 's/max_request_bytes/no_such_key/' "$dir/ok.txt" > "$dir/param.txt"
[ "$(status "$tool" replay "$dir/param.txt")" = 3 ] || fail "an unknown param must exit 3"
[ "$(status "$tool" replay "$dir/missing")" = 3 ] || fail "a missing file must exit 3"
[ "$(status "$tool" replay)" = 2 ] || fail "no file must exit 2"
[ "$(status "$tool" replay --mode sideways "$dir/ok.txt")" = 2 ] || fail "bad --mode"
[ "$(status "$tool" minimize "$dir/ok.txt")" = 2 ] || fail "minimize with one file"
[ "$(status "$tool" minimize --crash --same-end "$dir/ok.txt" "$dir/x")" = 2 ] ||
	fail "two goals"

# Minimizing a divergence: forty unrelated reads and writes go, the difference stays.
{
	head -n 4 "$dir/bad.txt"
	i=0
	while [ $i -lt 20 ]; do
		echo "cfg-read off=0x0 width=2 value=0x1af4 result=0"
		echo "bar-write bar=4 off=0x0 width=4 value=0x1"
		i=$((i + 1))
	done
	tail -n 1 "$dir/bad.txt"
} > "$dir/long.txt"
"$tool" minimize --divergence "$dir/long.txt" "$dir/min.bin" 2>"$dir/log" ||
	fail "minimize --divergence: $(cat "$dir/log")"
grep -q 'records left' "$dir/log" || fail "minimize prints progress"
out=$("$tool" replay "$dir/min.bin")
[ "$out" = "diverged at record 2 (cfg-read off=0x2 width=2): trace says 0x1045, device returned 0x1044" ] ||
	fail "minimized trace: '$out'"
n=$("$tool" print "$dir/min.bin" | grep -c -v '^vdev-trace')
[ "$n" = 3 ] || fail "minimized to device, param and the read: $n records"

# Minimizing the end state: only the status write decides it.
{
	head -n 3 "$dir/ok.txt"
	i=0
	while [ $i -lt 10 ]; do
		echo "cfg-read off=0x0 width=2 value=0x1af4 result=0"
		[ $i = 5 ] && echo "bar-write bar=4 off=0x14 width=1 value=0x1"
		i=$((i + 1))
	done
} > "$dir/end.txt"
"$tool" minimize --same-end "$dir/end.txt" "$dir/end.bin" 2>/dev/null || fail "--same-end"
n=$("$tool" print "$dir/end.bin" | grep -c -v '^vdev-trace')
[ "$n" = 3 ] || fail "same-end kept $n records"
"$tool" print "$dir/end.bin" | grep -q 'bar-write bar=4 off=0x14' || fail "status write kept"

# A command decides: the candidate must still make replay fail.
"$tool" minimize --cmd "'$tool' replay {}" "$dir/long.txt" "$dir/cmd.bin" 2>/dev/null ||
	fail "--cmd"
[ "$(status "$tool" replay "$dir/cmd.bin")" = 1 ] || fail "--cmd result still diverges"
# Nothing to minimize for: the whole trace does not crash.
[ "$(status "$tool" minimize --crash "$dir/ok.txt" "$dir/c.bin")" = 1 ] ||
	fail "minimize of a trace that does not crash must exit 1"
exit 0
