#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The demo, run inside the VM by tools/demo (ninja demo): separately exec'd
# processes share one region through libmshare (examples/mshare-*).
set -e
MNT=/sys/fs/mshare
step() { printf '\n== %s\n' "$*"; }

step "msharefs is mounted at $MNT; granule (cat $MNT/mshare_info): $(cat $MNT/mshare_info) bytes"

step "mshare-producer creates region 'demo', writes a message, waits for 3 acknowledgements"
mshare-producer -w 3 -t 60 demo "hello from mshare-producer, shared through msharefs" &
producer=$!
i=0
while [ ! -e $MNT/demo ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

step "ls -l $MNT: the region is a file"
ls -l $MNT

for i in 1 2 3; do
	step "mshare-consumer #$i: a separate process attaches 'demo' by name, reads, acknowledges"
	mshare-consumer -a -t 10 demo
done
wait $producer
echo "mshare-producer: all 3 consumers acknowledged; it removed the region (exit status $?)"

step "mshare-fork -n 4: a parent attaches a region, 4 forked children each fill a slot"
mshare-fork -n 4 && echo "mshare-fork: every slot correct"

step "cat $MNT/mshare_info"
cat $MNT/mshare_info
step "ls -l $MNT: only mshare_info is left"
ls -l $MNT

step "The saving: 8 processes each attach one 64 MiB region and read every page, msharefs vs memfd (mshare-bench)"
mshare-bench -s 64M -n 8 -b msharefs,memfd -p 0 -r 0 -q 2>/dev/null | awk -F' *[|] *' '
	/^### Page tables/ { t = 1 } /^### Faults/ { t = 2 } /^### (Steady|Targets)/ { t = 0 }
	t == 1 && $2 ~ /^(msharefs|memfd)$/ { pt[$2] = $7 }
	t == 2 && $2 ~ /^(msharefs|memfd)$/ { split($6, f, " "); printf "%-8s %6s KiB of page tables and %4s page faults per extra process, attach+touch %s ms\n", $2, pt[$2], f[1], $10 }'
