#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# For every virtio PCI function bound to virtio-pci: unbind the driver, bind
# it again, and run the quick check of its device type. Exercises device
# reset, teardown and a second probe of the same device.
set -eu
. /vdev/lib.sh

drv=/sys/bus/pci/drivers/virtio-pci
[ -d "$drv" ] || fail "no $drv (virtio_pci not loaded)"
n=0
bad=""
for bdf in $(virtio_pci_functions); do
	d=/sys/bus/pci/devices/$bdf
	[ "$(driver_of "$d")" = virtio-pci ] || { result "bdf=$bdf skipped=not-bound"; continue; }
	n=$((n + 1))
	v=$(virtio_child "$bdf")
	vt=$([ -n "$v" ] && cat "$v/device" || echo none)
	tn=$([ "$vt" != none ] && type_name "$vt" || echo none)
	t=$(uptime_cs)
	if ! in_child sh -c "echo $bdf >$drv/unbind" 2>/dev/null || [ -L "$d/driver" ]; then
		result "bdf=$bdf type_name=$tn unbind=failed"
		bad="$bad $bdf:unbind"
		continue
	fi
	if ! in_child sh -c "echo $bdf >$drv/bind" 2>/dev/null || [ "$(driver_of "$d")" != virtio-pci ]; then
		result "bdf=$bdf type_name=$tn unbind=ok bind=failed"
		bad="$bad $bdf:bind"
		continue
	fi
	v=$(virtio_child "$bdf")
	if [ -z "$v" ]; then
		result "bdf=$bdf type_name=$tn unbind=ok bind=ok virtio=none"
		bad="$bad $bdf:no-virtio-device"
		continue
	fi
	vdrv=$(driver_of "$v")
	if out=$(quick_check "$v"); then
		result "bdf=$bdf type_name=$tn unbind=ok bind=ok virtio=${v##*/} virtio_driver=$vdrv seconds=$(since "$t") $out"
	else
		result "bdf=$bdf type_name=$tn unbind=ok bind=ok virtio=${v##*/} virtio_driver=$vdrv check=failed"
		bad="$bad $bdf:$tn:$(echo "$out" | tr ' ' '_')"
	fi
done
result "count=$n"
[ "$n" -gt 0 ] || fail "no virtio PCI function bound to virtio-pci"
[ -z "$bad" ] || fail "problems:$bad"
exit 0
