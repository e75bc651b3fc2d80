#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# /init of the live-suite VM (busybox sh).  Console (kernel log, progress) is
# ttyS0; the TAP stream (or the demo's output, or the run script's stdout)
# goes to ttyS1 only, so kernel messages cannot interleave with it; in run
# mode the script's stderr and our status lines go to ttyS2.  See HACKING.md
# "Live test conventions" and "The VM harness".
export PATH=/opt/mshare/bin:/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root LD_LIBRARY_PATH=/opt/mshare/lib MSHARE_TEST_BINDIR=/opt/mshare/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/shm /dev/pts && mount -t tmpfs tmpfs /dev/shm
exec </dev/null >/dev/console 2>&1

MSHARE_MODE=tests
MSHARE_TEST_TIMEOUT=120
MSHARE_STRESS_TIMEOUT=300
MSHARE_TIMEOUTS=
MSHARE_TESTS=
MSHARE_EXCLUDE=
# Leak check (HACKING.md "Leak checks"): after umount + rmmod, PageTables
# may not be above, free memory (MemFree + free pages on the per-CPU lists)
# not below their values before insmod by more than these tolerances (KiB);
# the free-memory one is MSHARE_LEAK_FREE_DEBUG_KB on a kernel with
# kmemleak (the debug kernel: its stack depot keeps every new stack trace
# that KASAN, kmemleak and lockdep record, for good).  --env overrides them.
MSHARE_LEAK_PT_KB=128
# 7.x counts the kernel's own page tables (vmalloc's: kernel stacks) in
# PageTables and never frees them: a run of a few thousand processes adds
# 100-220 KiB (HACKING.md "Leak checks").  There the module's unload
# report is the exact check of its own tables ("... page tables leaked"
# fails the run), and PageTables only catches gross leaks.
case $(uname -r) in
[7-9].* | [1-9][0-9].*) MSHARE_LEAK_PT_KB=512 ;;
esac
MSHARE_LEAK_FREE_KB=4096
MSHARE_LEAK_FREE_DEBUG_KB=16384
# What mshare-speed took on Debian's 6.1 kernel in TCG on an idle 2-CPU
# host (ms; 168-178 over 12 runs; 6.12 ran it in 131-144, the RT kernels
# in 290-320, the debug kernel in 1,250-1,270, hence the reference times
# the kernel's slowdown).  See measure_speed.
MSHARE_SPEED_REF_MS=175
MSHARE_SLOWDOWN=1
MSHARE_SPEED=
. /etc/mshare/env
MNT=/sys/fs/mshare
# Kernel-log lines that fail the step they appear in (run-vm.sh scans the
# whole console log for the same).
BAD='BUG:|WARNING:|Oops|Call Trace|KASAN|possible recursive locking|circular locking|leaked|Bad rss-counter|[Bb]ad page|general protection fault|kernel panic|Kernel panic|hung_task|soft lockup|UBSAN'
BAD="$BAD|sleeping function called from invalid context|list_add corruption|list_del corruption"
BAD="$BAD|unreferenced object|suspected memory leak|page dumped because|VM_BUG_ON|kernel BUG at"

stty -F /dev/ttyS1 raw -echo cs8 2>/dev/null
exec 3>/dev/ttyS1

say() { echo "mshare-vm: $*"; }	# console only
tap() { echo "$*" >&3; say "$*"; }
diag() { sed 's/^/# /' "$@" >&3; }

poweroff_now() {
	sync
	poweroff -f
	sleep 5
	echo o >/proc/sysrq-trigger
}

n=0
fails=0
# result NAME STATUS(ok|not ok|skip) [REASONFILE]
result() {
	n=$((n + 1))
	case $2 in
	ok) tap "ok $n - $1" ;;
	skip) tap "ok $n - $1 # SKIP" ;;
	*) tap "not ok $n - $1"; fails=$((fails + 1)) ;;
	esac
	[ -n "${3:-}" ] && [ -s "$3" ] && diag "$3"
	return 0
}

# klog_unexpected FILE: FILE without the reports a test asked for
# (klog-expected.awk).
klog_unexpected() {
	awk -f /klog-expected.awk "$1"
}

# check_klog FILE REASONS: append the bad kernel-log lines to REASONS.
check_klog() {
	dmesg -c >"$1" 2>&1
	if klog_unexpected "$1" | grep -Eq "$BAD"; then
		echo "kernel log since the previous step:" >>"$2"
		klog_unexpected "$1" | grep -E -B2 -A20 "$BAD" | head -n 60 >>"$2"
		return 1
	fi
	return 0
}

# test_timeout NAME: seconds NAME may run.  MSHARE_TIMEOUTS ("name=secs ...")
# first, then live-stress-* get MSHARE_STRESS_TIMEOUT, the others
# MSHARE_TEST_TIMEOUT; times MSHARE_SPEED / 100 (a busy host).
test_timeout() {
	to=
	for kv in $MSHARE_TIMEOUTS; do
		[ "${kv%%=*}" = "$1" ] && to=${kv#*=}
	done
	if [ -z "$to" ]; then
		case $1 in
		live-stress-*) to=$MSHARE_STRESS_TIMEOUT ;;
		*) to=$MSHARE_TEST_TIMEOUT ;;
		esac
	fi
	echo $((to * MSHARE_SPEED / 100))
}

# measure_speed WHEN: how much slower than expected the VM runs right now
# (a busy host): mshare-speed's time over MSHARE_SPEED_REF_MS times the
# kernel's slowdown, as MSHARE_SPEED in percent, at least 100, at most
# 1000, exported to the tests (wait_ms(), stress_budget()) and scaling
# their time limits (test_timeout).  A TAP comment says what it found.
# --env MSHARE_SPEED=N fixes it instead.
speed_fixed=${MSHARE_SPEED:+1}
MSHARE_SPEED=${MSHARE_SPEED:-100}
export MSHARE_SPEED
measure_speed() {
	[ -z "$speed_fixed" ] && [ -x /opt/mshare/bin/mshare-speed ] || return 0
	ms=$(mshare-speed 2>/dev/null) || ms=
	case $ms in '' | *[!0-9]*) say "mshare-speed failed"; return 0 ;; esac
	MSHARE_SPEED=$((ms * 100 / (MSHARE_SPEED_REF_MS * MSHARE_SLOWDOWN)))
	[ "$MSHARE_SPEED" -lt 100 ] && MSHARE_SPEED=100
	[ "$MSHARE_SPEED" -gt 1000 ] && MSHARE_SPEED=1000
	echo "# speed $1: mshare-speed $ms ms (reference $MSHARE_SPEED_REF_MS x slowdown $MSHARE_SLOWDOWN): MSHARE_SPEED=$MSHARE_SPEED" >&3
	say "speed $1: $ms ms, MSHARE_SPEED=$MSHARE_SPEED"
}

# Tests may change these (e.g. core_pattern to dump cores into /tmp); they
# are put back after every test so the next one starts from the defaults.
SYSCTLS='kernel/core_pattern kernel/core_uses_pid kernel/core_pipe_limit fs/suid_dumpable'
save_sysctls() {
	for k in $SYSCTLS; do
		[ -r "/proc/sys/$k" ] && cat "/proc/sys/$k" >"/tmp/sysctl.$(echo "$k" | tr / .)"
	done
}
restore_sysctls() {
	for k in $SYSCTLS; do
		f="/tmp/sysctl.$(echo "$k" | tr / .)"
		[ -f "$f" ] || continue
		cmp -s "$f" "/proc/sys/$k" && continue
		say "restoring /proc/sys/$k to '$(cat "$f")'"
		cat "$f" >"/proc/sys/$k" 2>/dev/null
	done
}

# check_root REASONS: msharefs still mounted and empty but for mshare_info.
check_root() {
	ok=0
	if ! grep -q " $MNT msharefs " /proc/mounts; then
		echo "msharefs is no longer mounted at $MNT (remounted)" >>"$1"
		mount -t msharefs none "$MNT" >>"$1" 2>&1
		return 1
	fi
	for f in "$MNT"/* "$MNT"/.[!.]* "$MNT"/..?*; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		[ "$f" = "$MNT/mshare_info" ] && continue
		echo "left behind in $MNT: ${f#$MNT/}" >>"$1"
		rm -rf "$f" >>"$1" 2>&1 || echo "  (could not remove it)" >>"$1"
		ok=1
	done
	[ -e "$MNT/mshare_info" ] || { echo "$MNT/mshare_info is missing" >>"$1"; ok=1; }
	return $ok
}

# reap_leftovers TEST: processes a test left running (orphans of its kill -9
# storms, daemons of the real programs it ran) would exit or fault during
# the next test and change what it measures (PageTables above all): kill
# every process but init and the kernel's threads, and wait until they are
# gone (zombies reaped by init), saying so on the TAP stream.
reap_leftovers() {
	left=$(awk '/^Pid:/ { pid = $2 } /^PPid:/ { if (pid != 1 && $2 != 2 && pid != 2) print pid }' \
		/proc/[0-9]*/status 2>/dev/null)
	alive=
	for p in $left; do
		[ -d "/proc/$p" ] && [ "$p" != "$$" ] && alive="$alive $p"
	done
	[ -z "$alive" ] && return 0
	names=
	for p in $alive; do
		# busybox timeout's timer: a child of the test's timeout that
		# sleeps out the limit after the test ended (killed silently).
		read -r n <"/proc/$p/comm" 2>/dev/null && [ "$n" != timeout ] &&
			names="$names $n"
	done
	[ -n "$names" ] && tap "# $1 left processes running:$names (killed before the next test)"
	kill -9 $alive 2>/dev/null
	i=0
	while [ $i -lt 100 ]; do
		still=
		for p in $alive; do
			[ -d "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null &&
				still="$still $p"
		done
		[ -z "$still" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	wait 2>/dev/null
}

# mem_settle: have the kernel give back what it can (page cache, dentries
# and inodes, empty slabs, and on KASAN kernels the freed objects held in
# quarantine: a slab shrink flushes them), wait for RCU-deferred frees
# (page tables on 6.12) and fold the per-CPU counters.
mem_settle() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	for f in /sys/kernel/slab/*/shrink; do
		[ -L "${f%/shrink}" ] || echo 1 >"$f"
	done 2>/dev/null
	sleep 1
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
}

# mem_snapshot: "FREE_KB PAGETABLES_KB" once two readings in a row agree
# (PageTables exactly, free memory within 256 KiB; at most 6 readings).
# FREE is MemFree plus the free pages on the per-CPU lists (/proc/zoneinfo
# count:), which MemFree does not count.
mem_snapshot() {
	prev=
	for _ in 1 2 3 4 5 6; do
		mem_settle
		pcp=$(awk '$1 == "count:" { s += $2 } END { print s + 0 }' /proc/zoneinfo)
		cur=$(awk -v pcp="$pcp" '/^MemFree:/ { f = $2 } /^PageTables:/ { p = $2 }
			END { print f + pcp * 4, p }' /proc/meminfo)
		if [ -n "$prev" ]; then
			# shellcheck disable=SC2086 # two numbers each
			set -- $prev $cur
			d1=$(($3 - $1)) d2=$(($4 - $2))
			[ ${d1#-} -le 256 ] && [ "$d2" -eq 0 ] && break
		fi
		prev=$cur
	done
	echo "$cur"
}

# kmemleak, if the kernel has it (the debug kernel): reports of objects
# allocated before insmod are cleared then; the last step scans again.
KMEMLEAK=
mkdir -p /sys/kernel/debug
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
if [ -f /sys/kernel/debug/kmemleak ]; then
	KMEMLEAK=/sys/kernel/debug/kmemleak
	MSHARE_LEAK_FREE_KB=$MSHARE_LEAK_FREE_DEBUG_KB
fi

if [ "$MSHARE_MODE" = tests ]; then
	if [ -z "$MSHARE_TESTS" ]; then
		MSHARE_TESTS=$(cd /opt/mshare/bin && ls live-* 2>/dev/null)
	fi
	# MSHARE_EXCLUDE: tests this run leaves out (the long ones on kernels
	# outside -Dheavy_kernels); said in a comment, not counted as skipped.
	if [ -n "$MSHARE_EXCLUDE" ]; then
		kept=
		for t in $MSHARE_TESTS; do
			case " $MSHARE_EXCLUDE " in
			*" $t "*) ;;
			*) kept="$kept $t" ;;
			esac
		done
		MSHARE_TESTS=$kept
	fi
	ntests=0
	for t in $MSHARE_TESTS; do ntests=$((ntests + 1)); done
	steps=$((ntests + 3))
	[ -n "$KMEMLEAK" ] && steps=$((steps + 1))
	tap "1..$steps"
	[ -n "$MSHARE_EXCLUDE" ] && tap "# not run on this kernel (long tests run on the -Dheavy_kernels subset): $MSHARE_EXCLUDE"
	measure_speed "at boot"
fi

# Step 1: load the module and mount msharefs.
R=/tmp/reasons.setup
: >"$R"
if [ "$MSHARE_MODE" = tests ]; then
	if [ -n "$KMEMLEAK" ]; then
		# What the boot left unreferenced is not ours: scan twice (an
		# object is reported once unchanged over two scans), then clear.
		# Quietly on the console: the scan's summary is for the log.
		say "kmemleak: scanning before insmod"
		read -r cons_level _ </proc/sys/kernel/printk
		echo 4 >/proc/sys/kernel/printk
		echo scan >"$KMEMLEAK"
		sleep 1
		echo scan >"$KMEMLEAK"
		boot_leaks=$(grep -c '^unreferenced object' "$KMEMLEAK")
		echo clear >"$KMEMLEAK"
		echo "$cons_level" >/proc/sys/kernel/printk
		[ "$boot_leaks" -gt 0 ] &&
			echo "# kmemleak: $boot_leaks objects unreferenced before insmod (boot; cleared, not counted)" >&3
	fi
	mem_before=$(mem_snapshot)
	cat /proc/meminfo >/tmp/meminfo.before
	say "memory before insmod: free, PageTables (KiB): $mem_before"
fi
dmesg -c >/tmp/boot.log 2>&1
save_sysctls
extra=
for m in /lib/*.ko; do
	[ -f "$m" ] && [ "$m" != /lib/msharefs.ko ] && extra="$extra ${m#/lib/}"
done
say "kernel $(uname -r); extra modules in /lib:${extra:- none}"
setup_ok=1
say "insmod /lib/msharefs.ko"
if ! insmod /lib/msharefs.ko >>"$R" 2>&1; then
	echo "insmod /lib/msharefs.ko failed" >>"$R"
	setup_ok=0
elif [ ! -d "$MNT" ]; then
	echo "the module did not create $MNT" >>"$R"
	setup_ok=0
elif ! mount -t msharefs none "$MNT" >>"$R" 2>&1; then
	echo "mount -t msharefs none $MNT failed" >>"$R"
	setup_ok=0
fi
check_klog /tmp/klog.setup "$R" || setup_ok=0
if [ $setup_ok = 1 ]; then st=ok; else st='not ok'; fi

if [ "$MSHARE_MODE" = demo ]; then
	if [ $setup_ok = 1 ]; then
		say "running the demo"
		(cd /tmp && sh /opt/mshare/demo.sh) >&3 2>&3
		rc=$?
		echo "mshare-vm: demo exit status $rc" >&3
		R2=/tmp/reasons.demo; : >"$R2"
		check_klog /tmp/klog.demo "$R2" || { cat "$R2" >&3; rc=1; }
		umount "$MNT" >&3 2>&3 && rmmod msharefs >&3 2>&3 || rc=1
		check_klog /tmp/klog.end "$R2" || { cat "$R2" >&3; rc=1; }
	else
		cat "$R" >&3
		rc=1
	fi
	echo "mshare-vm: done rc=$rc" >&3
	poweroff_now
fi

if [ "$MSHARE_MODE" = run ]; then
	# stdout of the script alone on ttyS1 (the host's output file); its
	# stderr and our status lines on ttyS2.
	stty -F /dev/ttyS2 raw -echo cs8 2>/dev/null
	exec 4>/dev/ttyS2
	if [ $setup_ok = 1 ]; then
		say "running /opt/mshare/run.sh"
		(cd /tmp && exec sh /opt/mshare/run.sh) >&3 2>&4
		rc=$?
		echo "mshare-vm: script exit status $rc" >&4
		R2=/tmp/reasons.run; : >"$R2"
		check_klog /tmp/klog.run "$R2" || rc=1
		if ! umount "$MNT" >>"$R2" 2>&1; then
			echo "umount $MNT failed" >>"$R2"; rc=1
		elif ! rmmod msharefs >>"$R2" 2>&1; then
			echo "rmmod msharefs failed" >>"$R2"; rc=1
		fi
		check_klog /tmp/klog.end "$R2" || rc=1
		sed 's/^/mshare-vm: /' "$R2" >&4
	else
		sed 's/^/mshare-vm: /' "$R" >&4
		rc=1
	fi
	sync
	echo "mshare-vm: done rc=$rc" >&4
	poweroff_now
fi

result "insmod msharefs.ko, mount -t msharefs none $MNT" "$st" "$R"

# Steps 2..: one per live test.
for t in $MSHARE_TESTS; do
	if [ $setup_ok = 0 ]; then
		n=$((n + 1)); fails=$((fails + 1))
		tap "not ok $n - $t # module not loaded"
		continue
	fi
	R=/tmp/reasons.$t
	O=/tmp/out.$t
	: >"$R"
	case $t in live-stress-*) measure_speed "before $t" ;; esac
	to=$(test_timeout "$t")
	say "running $t (timeout $to s)"
	start=$(date +%s)
	(cd /tmp && MSHARE_TIMEOUT_S=$to exec timeout -k 5 "$to" "/opt/mshare/bin/$t") >"$O" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	reap_leftovers "$t"
	st=ok
	case $rc in
	0) ;;
	77) st=skip ;;
	124 | 137 | 143)
		if [ $secs -ge "$to" ]; then
			echo "timed out after $to s" >>"$R"
		else
			echo "killed by a signal (exit status $rc)" >>"$R"
		fi
		st='not ok' ;;
	*) echo "exit status $rc" >>"$R"; st='not ok' ;;
	esac
	check_klog "/tmp/klog.$t" "$R" || st='not ok'
	check_root "$R" || st='not ok'
	restore_sysctls
	if [ "$st" = 'not ok' ] && [ -s "$O" ]; then
		echo "output of $t:" >>"$R"
		tail -n 200 "$O" >>"$R"
	fi
	result "$t" "$st" "$R"
	echo "# $t: $secs s" >&3
	# A test's "note: ..." lines on stdout are figures for the record.
	sed -n "s/^note: /# $t: /p" "$O" >&3
done

# Last step: unmount and unload, kernel log clean.
R=/tmp/reasons.teardown
: >"$R"
st=ok
if [ $setup_ok = 1 ]; then
	umount "$MNT" >>"$R" 2>&1 || { echo "umount $MNT failed" >>"$R"; st='not ok'; }
	rmmod msharefs >>"$R" 2>&1 || { echo "rmmod msharefs failed" >>"$R"; st='not ok'; }
	check_klog /tmp/klog.teardown "$R" || st='not ok'
else
	echo "module not loaded" >>"$R"
	st='not ok'
fi
result "umount $MNT, rmmod msharefs, kernel log clean" "$st" "$R"

# kmemleak: nothing the run allocated is left unreferenced.
if [ -n "$KMEMLEAK" ]; then
	R=/tmp/reasons.kmemleak
	: >"$R"
	st=ok
	say "kmemleak: scanning"
	# Objects younger than 5 s are not reported; an object must stay
	# unchanged between two scans.
	sleep 5
	if echo scan >"$KMEMLEAK" 2>>"$R" && sleep 1 && echo scan >"$KMEMLEAK" 2>>"$R"; then
		cat "$KMEMLEAK" >/tmp/kmemleak.txt
		leaks=$(grep -c '^unreferenced object' /tmp/kmemleak.txt)
		if [ "$leaks" -gt 0 ]; then
			echo "kmemleak: $leaks unreferenced objects:" >>"$R"
			head -n 300 /tmp/kmemleak.txt >>"$R"
			st='not ok'
		fi
	else
		echo "kmemleak scan failed (kmemleak disabled itself? see the console log)" >>"$R"
		st='not ok'
		leaks='scan failed'
	fi
	# The scan's own summary line is expected here.
	dmesg -c | grep -v 'new suspected memory leak' >/tmp/klog.kmemleak.raw
	if grep -Eq "$BAD" /tmp/klog.kmemleak.raw; then
		echo "kernel log since the previous step:" >>"$R"
		grep -E -B2 -A20 "$BAD" /tmp/klog.kmemleak.raw | head -n 60 >>"$R"
		st='not ok'
	fi
	result "kmemleak: no unreferenced objects after rmmod ($leaks found)" "$st" "$R"
fi

# Leak check: memory back to where it was before insmod.
R=/tmp/reasons.leak
: >"$R"
mem_after=$(mem_snapshot)
# 7.x takes a freed page table off PageTables only after an RCU grace
# period, which on a PREEMPT_RT kernel under a busy TCG host can come
# seconds later: above the tolerance, look again for up to 30 s.
t0=$(date +%s) waited=0
while [ "$waited" -lt 30 ] &&
	[ $((${mem_after#* } - ${mem_before#* })) -gt "$MSHARE_LEAK_PT_KB" ]; do
	say "PageTables above the tolerance ($mem_after): looking again"
	sleep 2
	mem_after=$(mem_snapshot)
	waited=$(($(date +%s) - t0))
done
say "memory after rmmod: free, PageTables (KiB): $mem_after"
# shellcheck disable=SC2086 # two numbers each
set -- $mem_before $mem_after
dfree=$(($3 - $1)) dpt=$(($4 - $2))
st=ok
if [ "$setup_ok" = 0 ]; then
	echo "module not loaded" >>"$R"
	st='not ok'
fi
# Below the baseline is no leak (tables of processes that exited before
# insmod, freed after an RCU grace period or by a deferred mmdrop on RT).
if [ "$dpt" -gt "$MSHARE_LEAK_PT_KB" ]; then
	echo "PageTables ${2} KiB before insmod, ${4} KiB after rmmod: ${dpt} KiB (tolerance ${MSHARE_LEAK_PT_KB} KiB), still after ${waited} s more" >>"$R"
	echo "processes left:" >>"$R"
	ps -o pid,stat,comm 2>/dev/null | sed 's/^/  /' >>"$R"
	st='not ok'
fi
if [ "$dfree" -lt "-$MSHARE_LEAK_FREE_KB" ]; then
	echo "free memory ${1} KiB before insmod, ${3} KiB after rmmod: ${dfree} KiB (tolerance ${MSHARE_LEAK_FREE_KB} KiB)" >>"$R"
	echo "/proc/meminfo fields that changed, before insmod -> after rmmod (KiB):" >>"$R"
	awk 'NR == FNR { b[$1] = $2; next } $1 in b && $2 != b[$1] { print "  " $1, b[$1], "->", $2 }' \
		/tmp/meminfo.before /proc/meminfo >>"$R"
	st='not ok'
fi
[ "$waited" -gt 0 ] && echo "# memory back after rmmod: PageTables read again for $waited s (RCU-deferred frees)" >&3
result "memory back after rmmod: PageTables ${dpt} KiB (tolerance +${MSHARE_LEAK_PT_KB}), free ${dfree} KiB (tolerance -${MSHARE_LEAK_FREE_KB})" "$st" "$R"
echo "# mshare-vm: done, $fails failed" >&3
poweroff_now
