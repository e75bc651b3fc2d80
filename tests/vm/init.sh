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
. /etc/mshare/env
MNT=/sys/fs/mshare
BAD='BUG:|WARNING:|Oops|Call Trace|KASAN|possible recursive locking|circular locking|leaked|Bad rss-counter|Bad page|general protection fault|kernel panic|Kernel panic|hung_task|soft lockup|UBSAN'

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

# check_klog FILE REASONS: append the bad kernel-log lines to REASONS.
check_klog() {
	dmesg -c >"$1" 2>&1
	if grep -Eq "$BAD" "$1"; then
		echo "kernel log since the previous step:" >>"$2"
		grep -E -B2 -A20 "$BAD" "$1" | head -n 60 >>"$2"
		return 1
	fi
	return 0
}

# test_timeout NAME: seconds NAME may run.  MSHARE_TIMEOUTS ("name=secs ...")
# first, then live-stress-* get MSHARE_STRESS_TIMEOUT, the others
# MSHARE_TEST_TIMEOUT.
test_timeout() {
	for kv in $MSHARE_TIMEOUTS; do
		[ "${kv%%=*}" = "$1" ] && { echo "${kv#*=}"; return; }
	done
	case $1 in
	live-stress-*) echo "$MSHARE_STRESS_TIMEOUT" ;;
	*) echo "$MSHARE_TEST_TIMEOUT" ;;
	esac
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

if [ "$MSHARE_MODE" = tests ]; then
	if [ -z "$MSHARE_TESTS" ]; then
		MSHARE_TESTS=$(cd /opt/mshare/bin && ls live-* 2>/dev/null)
	fi
	ntests=0
	for t in $MSHARE_TESTS; do ntests=$((ntests + 1)); done
	tap "1..$((ntests + 2))"
fi

# Step 1: load the module and mount msharefs.
R=/tmp/reasons.setup
: >"$R"
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
	to=$(test_timeout "$t")
	say "running $t (timeout $to s)"
	start=$(date +%s)
	(cd /tmp && exec timeout -k 5 "$to" "/opt/mshare/bin/$t") >"$O" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
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
echo "# mshare-vm: done, $fails failed" >&3
poweroff_now
