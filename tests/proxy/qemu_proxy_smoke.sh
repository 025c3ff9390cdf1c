#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The proxy connector against a real QEMU 7.2 (x-pci-proxy-dev).
#
#   tests/proxy/qemu_proxy_smoke.sh [--guest] [--device echo|rng] [BUILD_DIR]
#
# Without --guest: QEMU boots SeaBIOS with no disk; the firmware must enumerate the
# function through the connector (config reads) and program and enable its memory BAR.
# SeaBIOS's own debug log (port 0x402) is kept to show the enumeration.
#
# With --guest: boot the Linux test guest of scripts/boot-guest (built by
# scripts/build-guest) with "irqpoll nolapic_timer" (under TCG the proxy's INTx eventfd
# reaches no interrupt controller) and run its pci and rng tests. The echo device
# binds virtio_rng but returns no entropy, so the rng test needs --device rng.
#
# BUILD_DIR is a meson build directory of a tree that includes tests/proxy
# (default: build). Exits 0 on success.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
guest=0
device=echo
while [ $# -gt 0 ]; do
	case $1 in
	--guest) guest=1; shift ;;
	--device) device=${2:?--device needs echo or rng}; shift 2 ;;
	-h | --help) sed -n '3,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) break ;;
	esac
done
build=${1:-$top/build}
smoke=$build/tests/proxy/proxy_smoke
die() { echo "qemu_proxy_smoke: $*" >&2; exit 2; }
[ -x "$smoke" ] || die "no $smoke (build tests/proxy first)"
command -v qemu-system-x86_64 >/dev/null ||
	die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"

out=$(mktemp "${TMPDIR:-/tmp}/proxy-smoke.XXXXXX")
if [ $guest = 0 ]; then
	bios=$out.seabios
	rc=0
	"$smoke" -t 15 -d "$device" -- qemu-system-x86_64 -accel tcg -smp 1 -m 256 -nographic \
		-object memory-backend-memfd,id=mem,size=256M,share=on \
		-machine pc,memory-backend=mem -monitor none -serial none \
		-chardev file,id=bios,path="$bios" \
		-device isa-debugcon,iobase=0x402,chardev=bios \
		-device x-pci-proxy-dev,id=vdev0,fd=@FD@ >"$out" 2>&1 || rc=$?
	cat "$out"
	echo "--- SeaBIOS, the proxied function (1af4):"
	bdf=$(grep -a -o 'bdf=[0-9a-f:.]* id=1af4:10' "$bios" | head -n1 |
		sed 's/^bdf=//; s/ .*//' || true)
	if [ -n "$bdf" ]; then
		grep -a -F "bdf=$bdf" "$bios"
	else
		echo "(SeaBIOS did not list it)"
	fi
	grep -q 'cfg_reads=[1-9]' "$out" && grep -q 'BAR 4 programmed' "$out" && [ $rc = 0 ] ||
		{ echo "qemu_proxy_smoke: FAILED (log $out)" >&2; exit 1; }
	echo "qemu_proxy_smoke: ok: firmware enumerated the function and programmed BAR 4"
	exit 0
fi

[ -x "$top/scripts/boot-guest" ] || die "scripts/boot-guest not in this tree"
rc=0
"$smoke" -t 420 -d "$device" -- "$top/scripts/boot-guest" --tests pci,rng \
	--append irqpoll --append nolapic_timer --timeout 360 --log "$out.guest" \
	-- -device x-pci-proxy-dev,id=vdev0,fd=@FD@ >"$out" 2>&1 || rc=$?
cat "$out"
grep -q '^boot-guest: ok' "$out" || { echo "qemu_proxy_smoke: FAILED (log $out)" >&2; exit 1; }
echo "qemu_proxy_smoke: ok: the guest bound the function and its tests passed"
