#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Boot a kernel in QEMU (TCG) with the msharefs module and the project's
# binaries, run every live test (BINs named live-*) and print TAP on stdout.
#
#   run-vm.sh [options] RELEASE MODULE.ko BIN...
#     --demo SCRIPT     run SCRIPT in the VM instead of the tests; its output
#                       is shown as it comes (not TAP)
#     --logdir DIR      keep initramfs and console log in DIR
#                       (default: a new directory under ${TMPDIR:-/tmp})
#     --libdir DIR      look for shared libraries in DIR first (repeatable)
#     --fail MESSAGE    print a failing TAP test with MESSAGE and exit 1
#                       (used when no module/kernel can be built)
#   Environment: MSHARE_VM_TIMEOUT (900 s, whole boot), MSHARE_TEST_TIMEOUT
#   (120 s, each test), MSHARE_VM_MEM (1G), MSHARE_VM_SMP (2),
#   MSHARE_TESTS ("live-a live-b": run only these).
#
# Beyond the guest's own lines it adds: the console log is free of kernel
# warnings/oopses, and the VM finished (plan complete, powered off).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
demo='' logdir='' fail=''
libdirs=()
while [ $# -gt 0 ]; do
	case $1 in
	--demo) demo=$2; shift 2 ;;
	--logdir) logdir=$2; shift 2 ;;
	--libdir) libdirs+=(-L "$2"); shift 2 ;;
	--fail) fail=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "run-vm.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done

if [ -n "$fail" ]; then
	echo "1..1"
	echo "not ok 1 - live suite cannot run"
	echo "$fail" | sed 's/^/# /'
	echo "run-vm.sh: $fail" >&2
	exit 1
fi
[ $# -ge 2 ] || { echo "usage: $0 [--demo SCRIPT] [--logdir DIR] RELEASE MODULE.ko BIN..." >&2; exit 2; }
release=$1 ko=$2
shift 2

BAD='BUG:|WARNING:|Oops|Call Trace|KASAN|possible recursive locking|circular locking|leaked|Bad rss-counter|Bad page|general protection fault|Kernel panic|soft lockup|UBSAN'

# bail REASON...: the run cannot start; one failing TAP line.
bail() {
	if [ -n "$demo" ]; then echo "run-vm.sh: $*" >&2; exit 1; fi
	echo "1..1"
	echo "not ok 1 - boot $release"
	printf '%s\n' "$@" | sed 's/^/# /'
	printf 'run-vm.sh: %s\n' "$@" >&2
	exit 1
}

kernel=$("$here/kernels.sh" image "$release" 2>&1) || bail "$kernel"
[ -f "$ko" ] || bail "module $ko not found (was it built for $release?)"
command -v qemu-system-x86_64 >/dev/null || bail "qemu-system-x86_64 not found; run tools/setup"

if [ -z "$logdir" ]; then
	logdir=$(mktemp -d "${TMPDIR:-/tmp}/mshare-vm.XXXXXX")
fi
mkdir -p "$logdir"
logdir=$(cd "$logdir" && pwd)
initrd=$logdir/initramfs.cpio.gz
console=$logdir/console.log
tapfile=$logdir/tap.log
rm -f "$console" "$tapfile"

envs=(-e "MSHARE_TEST_TIMEOUT=${MSHARE_TEST_TIMEOUT:-120}")
[ -n "${MSHARE_TESTS:-}" ] && envs+=(-e "MSHARE_TESTS=$MSHARE_TESTS")
mkargs=(-o "$initrd" -k "$ko" "${libdirs[@]}" "${envs[@]}")
[ -n "$demo" ] && mkargs+=(-d "$demo")
if ! err=$("$here/mkinitramfs.sh" "${mkargs[@]}" "$@" 2>&1); then
	bail "building the initramfs failed:" "$err"
fi

qemu=(timeout -k 10 "${MSHARE_VM_TIMEOUT:-900}"
	qemu-system-x86_64 -accel tcg -smp "${MSHARE_VM_SMP:-2}" -m "${MSHARE_VM_MEM:-1G}"
	-nodefaults -no-user-config -display none -no-reboot
	-kernel "$kernel" -initrd "$initrd"
	-append "console=ttyS0,115200 panic=-1 loglevel=7 mitigations=off"
	-serial "file:$console")

start=$(date +%s)
if [ -n "$demo" ]; then
	# ttyS1 straight to our stdout, CRs stripped.
	"${qemu[@]}" -serial file:/dev/stdout </dev/null | tr -d '\r' | tee "$tapfile"
	qrc=${PIPESTATUS[0]}
else
	"${qemu[@]}" -serial "file:$tapfile" </dev/null >"$logdir/qemu.log" 2>&1
	qrc=$?
fi
secs=$(($(date +%s) - start))

scan_console() { # lines from the kernel, not the harness's own progress lines
	tr -d '\r' <"$console" | grep -v 'mshare-vm: ' | grep -E -A12 "$BAD" | head -n 30
}

if [ -n "$demo" ]; then
	echo
	echo "run-vm.sh: VM ran $secs s; console log: $console"
	rc=0
	if ! grep -q '^mshare-vm: done rc=0$' "$tapfile"; then
		echo "run-vm.sh: the demo failed (qemu exit status $qrc); console tail:"
		tr -d '\r' <"$console" | tail -n 30
		rc=1
	fi
	if hits=$(scan_console) && [ -n "$hits" ]; then
		echo "run-vm.sh: the kernel log shows problems:"; echo "$hits"; rc=1
	fi
	exit $rc
fi

# Relay the guest's TAP: its results, then ours, then the plan.  The failures
# with their diagnostics go to stderr as well (meson --print-errorlogs).
tr -d '\r' <"$tapfile" >"$tapfile.txt"
relay() {
plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$tapfile.txt" | head -n 1)
n=0 failed=0
while IFS= read -r line; do
	case $line in
	"ok "* | "not ok "*)
		n=$((n + 1))
		case $line in "not ok "*) failed=$((failed + 1)) ;; esac
		printf '%s\n' "$line" | sed -E "s/^(ok|not ok) [0-9]+/\1 $n/"
		;;
	"#"*) printf '%s\n' "$line" ;;
	esac
done <"$tapfile.txt"

echo "# $release: VM ran $secs s, console log: $console"
n=$((n + 1))
if hits=$(scan_console) && [ -n "$hits" ]; then
	echo "not ok $n - $release: console log free of kernel warnings"
	echo "$hits" | sed 's/^/# /'
	failed=$((failed + 1))
else
	echo "ok $n - $release: console log free of kernel warnings"
fi
n=$((n + 1))
if [ -z "$plan" ] || [ $((n - 2)) -ne "$plan" ] || ! grep -q '^# mshare-vm: done' "$tapfile.txt"; then
	echo "not ok $n - $release: VM completed the run (plan ${plan:-missing}, got $((n - 2)) results, qemu exit status $qrc)"
	[ "$qrc" = 124 ] && echo "# timed out after ${MSHARE_VM_TIMEOUT:-900} s"
	echo "# console tail:"
	tr -d '\r' <"$console" | tail -n 40 | sed 's/^/# /'
	sed 's/^/# qemu: /' "$logdir/qemu.log"
	failed=$((failed + 1))
else
	echo "ok $n - $release: VM completed the run ($secs s)"
fi
echo "1..$n"
[ $failed -eq 0 ]
}
relay >"$logdir/tap.out"
rc=$?
cat "$logdir/tap.out"
if [ $rc -ne 0 ]; then
	awk '/^not ok / { p = 1; print; next } /^(ok |1\.\.)/ { p = 0 } p' "$logdir/tap.out" >&2
	echo "run-vm.sh: console log: $console" >&2
fi
exit $rc
