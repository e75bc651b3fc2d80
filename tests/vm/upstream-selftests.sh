#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# In the VM (run-vm.sh --run, from tools/upstream-selftests): upstream
# mshare's selftests, basic and memory, with what their "Tip:" lines ask
# for: hugepages (vm.nr_hugepages=2), swap space (a ramdisk), and
# shmem_enabled=always.
echo "kernel: $(uname -r)"
[ -e /sys/fs/cgroup/cgroup.controllers ] || mount -t cgroup2 none /sys/fs/cgroup
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
echo "cgroup.subtree_control: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
sysctl -w vm.nr_hugepages=2
insmod /lib/brd.ko rd_nr=1 rd_size=65536 && sleep 1 && mkswap /dev/ram0 >/dev/null && swapon /dev/ram0
echo "swap:"; cat /proc/swaps
if [ -e /sys/kernel/mm/transparent_hugepage/shmem_enabled ]; then
	echo always > /sys/kernel/mm/transparent_hugepage/shmem_enabled
fi
echo "shmem_enabled: $(cat /sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null || echo 'none (no THP)')"
echo "mshare_info: $(cat /sys/fs/mshare/mshare_info)"
cd /tmp
for t in basic memory; do
	echo "===== ./$t"
	$(command -v $t); echo "exit status $?"
done
grep -E '^(Shmem|ShmemHugePages|ShmemPmdMapped|Unevictable|HugePages_Total|HugePages_Free)' /proc/meminfo
swapoff /dev/ram0; rmmod brd
