#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The demo, run inside the VM by tools/demo (ninja demo): separately exec'd
# processes share one region through libmshare (examples/mshare-*), and
# `mshare ls` shows what they save while they are attached.
set -e
MNT=/sys/fs/mshare
step() { printf '\n== %s\n' "$*"; }

step "msharefs is mounted at $MNT; cat $MNT/mshare_info: $(cat $MNT/mshare_info) bytes (upstream's unit; regions come in multiples of 2 MiB)"

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

step "mshare: see what is shared.  mshare create scratch 16M; mshare-producer makes a 128 MiB region 'cache'"
mshare create --mode 0640 scratch 16M
mshare-producer -s $((128 * 1024 * 1024)) cache "the cache" >/dev/null
mshare ls
echo "(the producer touched one 2 MiB chunk of cache and left: the region keeps that page table, nobody links it)"

n=8
step "$n consumers attach 'cache', read every page and stay attached (mshare-consumer -a -H 120 cache)"
pids=
for i in $(seq $n); do
	mshare-consumer -a -H 120 cache >/tmp/consumer.$i 2>&1 &
	pids="$pids $!"
done
i=0
while [ "$(cat /tmp/consumer.* 2>/dev/null | grep -c '^holding')" -lt $n ] && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
echo "$(cat /tmp/consumer.* | grep -c '^holding') consumers attached"

step "mshare info: the mount's totals"
mshare info
step "mshare stat cache: one region's figures (64 page tables, one per 2 MiB, linked $n times each)"
mshare stat cache

step "mshare ls: PT-SAVED is the page-table memory the $n attachers did not allocate"
mshare ls

# Quietly: the consumers detach (SIGTERM), the regions go.
kill $pids 2>/dev/null
wait $pids 2>/dev/null || true
rm -f /tmp/consumer.*
mshare rm cache scratch
