#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# vdev-trace print/convert end to end: a hand-written text trace with every record kind
# converts to binary and back to the same bytes; bad input and bad command lines give
# the documented exit statuses (2 usage, 3 unreadable or invalid trace).
set -u
tool=$1
doc=${2:-}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cat > "$dir/in.txt" <<'TRACE'
vdev-trace 1
# every kind once, in a plausible order
device type=net mode=transitional flags=msix,mem32
param key=queue_pairs value=0x2
ram addr=0x0 size=0x8000000
cfg-read off=0x0 width=2 value=0x1af4 result=0
cfg-write off=0x4 width=2 value=0x7 result=0
bar-read bar=0 off=0x12 width=1 value=0x0
bar-write bar=0 off=0x12 width=1 value=0xf
mem addr=0x4000 data=0010000000000000
fault kind=short skip=1 limit=0x3
backend op=net-recv queue=0 result=2 data=00000000000000000000abcd
time ns=123456789
complete queue=0 head=3 result=-5
notify queue=1 has-data=1 value=0x10001
irq kind=intx addr=0x0 value=0x1
host op=net-link a=0x0 b=0x0
reset
poll
TRACE

"$tool" convert "$dir/in.txt" "$dir/a.bin" || fail "text -> binary"
"$tool" convert "$dir/a.bin" "$dir/b.txt" || fail "binary -> text"
"$tool" convert "$dir/b.txt" "$dir/b.bin" || fail "text -> binary again"
cmp "$dir/a.bin" "$dir/b.bin" || fail "binary differs after a text round trip"
grep -v '^#' "$dir/in.txt" | cmp - "$dir/b.txt" || fail "printed text differs from the input"
"$tool" convert --to binary "$dir/a.bin" - | cmp - "$dir/a.bin" || fail "binary -> binary"
"$tool" print "$dir/a.bin" | cmp - "$dir/b.txt" || fail "print differs from convert"
"$tool" print --summary "$dir/in.txt" | grep -q '^total  *17 ' || fail "summary total"

status() { "$@" >/dev/null 2>&1; echo $?; }
[ "$(status "$tool")" = 2 ] || fail "no command must exit 2"
[ "$(status "$tool" frobnicate)" = 2 ] || fail "unknown command must exit 2"
[ "$(status "$tool" convert "$dir/in.txt")" = 2 ] || fail "convert with one file must exit 2"
[ "$(status "$tool" convert --to xml "$dir/in.txt" "$dir/x")" = 2 ] || fail "--to xml"
[ "$(status "$tool" print "$dir/missing")" = 3 ] || fail "missing file must exit 3"

printf 'vdev-trace 1\npoll\ncfg-read width=300\n' > "$dir/bad.txt"
err=$("$tool" convert "$dir/bad.txt" "$dir/out.bin" 2>&1)
[ $? = 3 ] || fail "bad text must exit 3"
case $err in *"line 3"*"width"*) ;; *) fail "error must name line 3 and width: $err" ;; esac
[ ! -e "$dir/out.bin" ] || fail "a failed conversion must leave no output"
[ -z "$(ls "$dir" | grep tmp-)" ] || fail "temporary file left behind"

head -c 40 "$dir/a.bin" > "$dir/cut.bin"
[ "$(status "$tool" print "$dir/cut.bin")" = 3 ] || fail "truncated binary must exit 3"
# The same cut, read as a raw fuzzer input, simply ends early.
tail -c +13 "$dir/cut.bin" > "$dir/raw.bin"
"$tool" print --raw "$dir/raw.bin" >/dev/null || fail "--raw must accept a truncated tail"

# The example in the format document is a valid trace that prints back as written.
if [ -n "$doc" ]; then
	awk '/^```/ { if (grab) exit; next_is_code = 1; next }
	     next_is_code && $0 == "vdev-trace 1" { grab = 1 }
	     { next_is_code = 0 }
	     grab { print }' "$doc" > "$dir/example.txt"
	[ -s "$dir/example.txt" ] || fail "no example found in $doc"
	"$tool" print "$dir/example.txt" > "$dir/example.out" || fail "the example does not parse"
	grep -v '^#' "$dir/example.txt" | cmp - "$dir/example.out" ||
		fail "the example does not print back as written"
fi
echo ok
