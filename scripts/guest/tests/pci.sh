#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# List every virtio PCI function: IDs, BARs, interrupts, bound drivers and
# the virtio device type. Fails when no function is found, when virtio-pci is
# not bound to one, or when a type the guest has a driver for has none bound.
set -eu
. /vdev/lib.sh

n=0
bad=""
for bdf in $(virtio_pci_functions); do
	d=/sys/bus/pci/devices/$bdf
	n=$((n + 1))
	pdrv=$(driver_of "$d")
	# BARs from the resource file: start end flags, one line per BAR (busybox
	# awk reads 0x... fields as numbers).
	bars=$(awk 'NR <= 6 && $1 != $2 {
		start = $1 + 0; end = $2 + 0; flags = $3 + 0
		kind = (and(flags, 0x100) ? "io" : (and(flags, 0x100000) ? "mem64" : "mem"))
		printf " bar%d=%s:%d", NR - 1, kind, end - start + 1 }' "$d/resource" 2>/dev/null || true)
	msi=0
	[ -d "$d/msi_irqs" ] && msi=$(ls "$d/msi_irqs" | wc -l)
	v=$(virtio_child "$bdf")
	if [ -n "$v" ]; then
		vt=$(cat "$v/device")
		vdrv=$(driver_of "$v")
		vname=${v##*/}
		ver1=$(version1_of "$v")
		feat=$(features_of "$v")
		status=$(cat "$v/status" 2>/dev/null || echo unknown)
	else
		vt=none vdrv=none vname=none ver1=unknown feat=unknown status=unknown
	fi
	[ "$vt" = none ] && tn=none || tn=$(type_name "$vt")
	result "bdf=$bdf vendor=$(cat "$d/vendor") device=$(cat "$d/device")" \
		"subsys_vendor=$(cat "$d/subsystem_vendor") subsys=$(cat "$d/subsystem_device")" \
		"class=$(cat "$d/class") revision=$(cat "$d/revision" 2>/dev/null || echo unknown)" \
		"pci_driver=$pdrv virtio=$vname type=$vt type_name=$tn virtio_driver=$vdrv" \
		"version1=$ver1 features=$feat status=$status irq=$(cat "$d/irq") msi_vectors=$msi$bars"
	if [ "$pdrv" != virtio-pci ]; then
		bad="$bad $bdf:pci_driver=$pdrv"
	elif [ "$vt" = none ]; then
		bad="$bad $bdf:no-virtio-device"
	else
		case $tn in net | blk | console | rng)
			[ "$vdrv" != none ] || bad="$bad $bdf:$tn-driver-not-bound" ;;
		esac
	fi
done
result "count=$n force_legacy=$(cat /sys/module/virtio_pci/parameters/force_legacy 2>/dev/null || echo unknown)"
[ "$n" -gt 0 ] || fail "no virtio PCI function found"
[ -z "$bad" ] || fail "problems:$bad"
exit 0
