# SPDX-License-Identifier: BSD-3-Clause
# Helpers for the guest tests; sourced by every /vdev/tests/*.sh (busybox sh).
# The init sets VDEV_TEST (test name), VDEV_ARGS (vdev.args value) and
# VDEV_REASON (file the failure reason goes to). A test exits 0 to pass; the
# init prints VDEV-PASS / VDEV-FAIL, so tests only print VDEV-RESULT lines.

: "${VDEV_TEST:?}" "${VDEV_REASON:=/dev/null}" "${VDEV_ARGS:=}"

# Values must not contain spaces: the line is split on them.
result() {
	echo "VDEV-RESULT $VDEV_TEST $*"
}

fail() {
	echo "$*" >"$VDEV_REASON"
	exit 1
}

# vdev_arg KEY DEFAULT: the value of KEY in vdev.args=k=v,k=v,...
vdev_arg() {
	_key=$1
	_val=$2
	_old_ifs=$IFS
	IFS=,
	set -f
	for _kv in $VDEV_ARGS; do
		case $_kv in "$_key="*) _val=${_kv#"$_key="} ;; esac
	done
	set +f
	IFS=$_old_ifs
	echo "$_val"
}

is_uint() { case $1 in '' | *[!0-9]*) return 1 ;; esac; }

uptime_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }

# Elapsed seconds since a uptime_cs value, two decimals.
since() { awk -v a="$1" -v b="$(uptime_cs)" 'BEGIN { printf "%.2f", (b - a) / 100 }'; }

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# --- virtio PCI topology ---------------------------------------------------------

# BDFs of the virtio PCI functions: vendor 0x1af4, device 0x1000-0x107f.
virtio_pci_functions() {
	for _d in /sys/bus/pci/devices/*; do
		[ -e "$_d/vendor" ] || continue
		[ "$(cat "$_d/vendor")" = 0x1af4 ] || continue
		_id=$(($(cat "$_d/device")))
		[ "$_id" -ge $((0x1000)) ] && [ "$_id" -le $((0x107f)) ] || continue
		echo "${_d##*/}"
	done
}

# The virtio device (/sys/bus/virtio/devices/virtioN) under a PCI function, or "".
virtio_child() {
	for _v in /sys/bus/pci/devices/"$1"/virtio[0-9]*; do
		[ -d "$_v" ] && { echo "$_v"; return 0; }
	done
	echo ""
}

driver_of() {
	if [ -L "$1/driver" ]; then
		_l=$(readlink "$1/driver")
		echo "${_l##*/}"
	else
		echo none
	fi
}

type_name() {
	case $(($1)) in
	1) echo net ;; 2) echo blk ;; 3) echo console ;; 4) echo rng ;;
	5) echo balloon ;; 8) echo scsi ;; 9) echo 9p ;; 16) echo gpu ;;
	18) echo input ;; 19) echo vsock ;; 20) echo crypto ;; 26) echo fs ;;
	34) echo i2c ;; 41) echo gpio ;; *) echo "type$(($1))" ;;
	esac
}

# The negotiated feature bits of a virtio device as 0x<hex> (sysfs gives one
# character per bit, bit 0 first).
features_of() {
	awk '{
		# 16 bits at a time: busybox awk prints %x of larger values wrongly.
		out = ""
		for (w = 3; w >= 0; w--) {
			v = 0; p = 1
			for (i = 1; i <= 16; i++) {
				if (substr($0, w * 16 + i, 1) == "1") v += p
				p *= 2
			}
			out = out sprintf("%04x", v)
		}
		printf "0x%s", out
	}' "$1/features" 2>/dev/null || echo unknown
}

# 1 when the driver negotiated VIRTIO_F_VERSION_1 (bit 32: the modern interface).
version1_of() {
	_f=$(cat "$1/features" 2>/dev/null || true)
	if [ ${#_f} -ge 33 ]; then echo "$_f" | cut -c33; else echo 0; fi
}

# Run a command that may block in the kernel (sysfs writes to drivers, I/O on
# a device) in its own process, so the test's own timeout can still kill it.
in_child() {
	("$@")
}

# --- quick functional checks, by device type ---------------------------------
# quick_check VIRTIO_SYSFS_DIR: prints key=value facts on one line, returns
# non-zero with the reason on stdout when the device does not work.

quick_check() {
	_v=$1
	_t=$(($(cat "$_v/device")))
	case $_t in
	1) quick_net "$_v" ;;
	2) quick_blk "$_v" ;;
	3) quick_console "$_v" ;;
	4) quick_rng "$_v" ;;
	*) echo "check=none" ;;
	esac
}

quick_blk() {
	_b=""
	for _x in "$1"/block/*; do [ -d "$_x" ] && _b=${_x##*/} && break; done
	[ -n "$_b" ] || { echo "no block device under ${1##*/}"; return 1; }
	[ -b "/dev/$_b" ] || { echo "no /dev/$_b"; return 1; }
	_sec=$(cat "/sys/block/$_b/size")
	drop_caches
	_n=$(in_child dd if="/dev/$_b" bs=4096 count=1 2>/dev/null | wc -c) || _n=0
	[ "$_n" = 4096 ] || { echo "read of /dev/$_b returned $_n bytes, not 4096"; return 1; }
	echo "dev=$_b sectors=$_sec read4k=ok"
}

quick_net() {
	_i=""
	for _x in "$1"/net/*; do [ -d "$_x" ] && _i=${_x##*/} && break; done
	[ -n "$_i" ] || { echo "no interface under ${1##*/}"; return 1; }
	in_child ip link set "$_i" up || { echo "ip link set $_i up failed"; return 1; }
	_mac=$(cat "/sys/class/net/$_i/address")
	case $_mac in '' | 00:00:00:00:00:00) echo "$_i has no MAC"; return 1 ;; esac
	echo "if=$_i mac=$_mac operstate=$(cat "/sys/class/net/$_i/operstate")"
}

# The device node a console test writes to: the console port's /dev/hvcN when
# there is one (console ports refuse opens of their /dev/vportNpM), else the
# first port of the device.
console_node() {
	for _x in /dev/hvc[0-9]*; do [ -c "$_x" ] && { echo "$_x"; return 0; }; done
	for _x in "$1"/virtio-ports/*; do
		[ -c "/dev/${_x##*/}" ] && { echo "/dev/${_x##*/}"; return 0; }
	done
	echo ""
}

quick_console() {
	_ports=""
	for _x in "$1"/virtio-ports/*; do [ -d "$_x" ] && _ports="$_ports${_ports:+,}${_x##*/}"; done
	[ -n "$_ports" ] || { echo "no ports under ${1##*/}"; return 1; }
	_node=$(console_node "$1")
	[ -n "$_node" ] || { echo "no console device node"; return 1; }
	in_child sh -c "echo 'VDEV-CONSOLE $VDEV_TEST ${1##*/}' >$_node" ||
		{ echo "write to $_node failed"; return 1; }
	echo "ports=$_ports node=$_node write=ok"
}

quick_rng() {
	_cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null || echo none)
	case $_cur in virtio_rng*) ;; *) echo "rng_current is $_cur, not virtio_rng"; return 1 ;; esac
	_hex=$(in_child dd if=/dev/hwrng bs=16 count=1 iflag=fullblock 2>/dev/null | od -An -tx1 | tr -d ' \n') || _hex=""
	[ ${#_hex} = 32 ] || { echo "read ${#_hex} hex digits from /dev/hwrng, not 32"; return 1; }
	case $_hex in *[!0]*) ;; *) echo "/dev/hwrng returned only zeroes"; return 1 ;; esac
	echo "rng_current=$_cur read16=ok"
}
