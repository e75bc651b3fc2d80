#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Boot a kernel in QEMU (TCG) with the msharefs module and the project's
# binaries, run every live test (BINs named live-*) and print TAP on stdout.
#
#   run-vm.sh [options] RELEASE MODULE.ko BIN...
#     --demo SCRIPT     run SCRIPT in the VM instead of the tests; its output
#                       is shown as it comes (not TAP)
#     --run SCRIPT      run SCRIPT (sh) in the VM instead of the tests, with
#                       the module loaded and msharefs mounted, cwd /tmp, BINs
#                       on PATH; its stdout (only) goes to --output FILE (or
#                       our stdout at the end), its stderr to our stderr as it
#                       comes.  Exit status: the script's, or 1 if the module
#                       could not be loaded/unloaded, the kernel log shows
#                       problems or the VM did not finish.
#     --output FILE     with --run: where the script's stdout goes
#     --env NAME=VALUE  exported to the tests / the script (repeatable)
#     --mem SIZE        VM memory (QEMU -m; $MSHARE_VM_MEM, default 1G)
#     --smp N           VM CPUs ($MSHARE_VM_SMP, default 2)
#     --numa N          N NUMA nodes, the memory split evenly between them
#                       and the CPUs in N equal runs (N must divide --smp);
#                       the tests get MSHARE_NUMA_NODES=N
#     --vm-timeout S    the whole boot ($MSHARE_VM_TIMEOUT, default 900 s)
#     --test-timeout S  each test ($MSHARE_TEST_TIMEOUT, default 120 s);
#                       tests named live-stress-* get --stress-timeout S
#                       ($MSHARE_STRESS_TIMEOUT, default 300 s);
#                       $MSHARE_TIMEOUTS="live-a=600 live-b=30" per test.
#                       On a slow kernel (kernels.sh slowdown RELEASE: N > 1,
#                       the debug kernel) the defaults are N times these,
#                       and the tests get MSHARE_SLOWDOWN=N (the stress
#                       tests divide their operation counts by it)
#     --logdir DIR      keep initramfs and console log in DIR
#                       (default: a new directory under ${TMPDIR:-/tmp})
#     --libdir DIR      look for shared libraries in DIR first (repeatable)
#     --files LIST      more host files in the image (repeatable; see
#                       mkinitramfs.sh -x: a suite's real programs)
#     --fail MESSAGE    print a failing TAP test with MESSAGE and exit 1
#                       (used when no module/kernel can be built)
#   Environment: MSHARE_TESTS ("live-a live-b": run only these), and the
#   defaults named above.
#
# The extra kernel modules cached by tools/setup for RELEASE (kernels.sh
# modules: brd) are in the VM as /lib/<name>.ko; one that is missing is
# reported (TAP comment and stderr) and the test that loads it fails.
#
# Beyond the guest's own lines it adds: the console log is free of kernel
# warnings/oopses, and the VM finished (plan complete, powered off).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
demo='' run='' output='' logdir='' fail='' numa=''
libdirs=() exports=() filelists=()
vm_mem=${MSHARE_VM_MEM:-1G}
vm_smp=${MSHARE_VM_SMP:-2}
vm_timeout=${MSHARE_VM_TIMEOUT:-}
test_timeout=${MSHARE_TEST_TIMEOUT:-}
stress_timeout=${MSHARE_STRESS_TIMEOUT:-}
while [ $# -gt 0 ]; do
	case $1 in
	--demo) demo=$2; shift 2 ;;
	--run) run=$2; shift 2 ;;
	--output) output=$2; shift 2 ;;
	--env)
		[[ $2 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || { echo "run-vm.sh: --env wants NAME=VALUE, not $2" >&2; exit 2; }
		exports+=(-E "$2"); shift 2 ;;
	--mem) vm_mem=$2; shift 2 ;;
	--smp) vm_smp=$2; shift 2 ;;
	--numa) numa=$2; shift 2 ;;
	--vm-timeout) vm_timeout=$2; shift 2 ;;
	--test-timeout) test_timeout=$2; shift 2 ;;
	--stress-timeout) stress_timeout=$2; shift 2 ;;
	--logdir) logdir=$2; shift 2 ;;
	--libdir) libdirs+=(-L "$2"); shift 2 ;;
	--files) filelists+=(-x "$2"); shift 2 ;;
	--fail) fail=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "run-vm.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
for v in "$vm_timeout" "$test_timeout" "$stress_timeout" "$vm_smp" "$numa"; do
	[ -z "$v" ] || [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "run-vm.sh: not a positive number: $v" >&2; exit 2; }
done
if [ -n "$demo" ] && [ -n "$run" ]; then
	echo "run-vm.sh: --demo and --run exclude each other" >&2; exit 2
fi
[ -z "$output" ] || [ -n "$run" ] || { echo "run-vm.sh: --output goes with --run" >&2; exit 2; }

if [ -n "$fail" ]; then
	echo "1..1"
	echo "not ok 1 - live suite cannot run"
	echo "$fail" | sed 's/^/# /'
	echo "run-vm.sh: $fail" >&2
	exit 1
fi
[ $# -ge 2 ] || { echo "usage: $0 [--demo SCRIPT | --run SCRIPT [--output FILE]] [options] RELEASE MODULE.ko BIN..." >&2; exit 2; }
release=$1 ko=$2
shift 2

# A slow kernel (the debug kernel) gets longer default timeouts.
slowdown=$("$here/kernels.sh" slowdown "$release" 2>/dev/null) || slowdown=1
[[ $slowdown =~ ^[1-9][0-9]*$ ]] || slowdown=1
vm_timeout=${vm_timeout:-$((900 * slowdown))}
test_timeout=${test_timeout:-$((120 * slowdown))}
stress_timeout=${stress_timeout:-$((300 * slowdown))}

# As init.sh's BAD (the per-step checks), over the whole console log.
BAD='BUG:|WARNING:|Oops|Call Trace|KASAN|possible recursive locking|circular locking|leaked|Bad rss-counter|[Bb]ad page|general protection fault|Kernel panic|soft lockup|UBSAN'
BAD="$BAD|sleeping function called from invalid context|list_add corruption|list_del corruption"
BAD="$BAD|unreferenced object|suspected memory leak|page dumped because|VM_BUG_ON|kernel BUG at"

# bail REASON...: the run cannot start; one failing TAP line.
bail() {
	if [ -n "$demo$run" ]; then printf 'run-vm.sh: %s\n' "$@" >&2; exit 1; fi
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
errfile=$logdir/run.err
rm -f "$console" "$tapfile" "$errfile" "$logdir"/console-failed-boot-*.log

# Extra modules (brd...): whatever is missing is said, not fatal here.
extra=()
mods=$("$here/kernels.sh" modules "$release" 2>"$logdir/modules.err")
for m in $mods; do extra+=(-m "$m"); done
modnote=$(cat "$logdir/modules.err")
if [ -n "$modnote" ]; then
	printf 'run-vm.sh: %s\n' "$modnote" >&2
fi

envs=(-e "MSHARE_TEST_TIMEOUT=$test_timeout" -e "MSHARE_STRESS_TIMEOUT=$stress_timeout")
[ -n "${MSHARE_TIMEOUTS:-}" ] && envs+=(-e "MSHARE_TIMEOUTS=$MSHARE_TIMEOUTS")
[ -n "${MSHARE_TESTS:-}" ] && envs+=(-e "MSHARE_TESTS=$MSHARE_TESTS")
# Ours first: an --env MSHARE_SLOWDOWN=... of the caller comes later and wins.
exports=(-E "MSHARE_SLOWDOWN=$slowdown" ${numa:+-E "MSHARE_NUMA_NODES=$numa"} "${exports[@]}")
mkargs=(-o "$initrd" -k "$ko" "${extra[@]}" "${libdirs[@]}" "${filelists[@]}" "${envs[@]}" "${exports[@]}")
[ -n "$demo" ] && mkargs+=(-d "$demo")
[ -n "$run" ] && mkargs+=(-r "$run")
if ! err=$("$here/mkinitramfs.sh" "${mkargs[@]}" "$@" 2>&1); then
	bail "building the initramfs failed:" "$err"
fi

# --numa: one socket per node (a node boundary inside a package makes the
# kernel warn, topology_sane, at boot), equal CPU runs, and memory-backend
# objects of equal size, one per node.
smp=$vm_smp numa_args=()
if [ -n "$numa" ]; then
	case $vm_mem in
	*[Gg]) mem_mib=$((${vm_mem%[Gg]} * 1024)) ;;
	*[Mm]) mem_mib=${vm_mem%[Mm]} ;;
	*) bail "--numa needs --mem in M or G, not $vm_mem" ;;
	esac
	[ $((vm_smp % numa)) = 0 ] && [ $((mem_mib % numa)) = 0 ] ||
		bail "--numa $numa must divide --smp $vm_smp and the memory ($mem_mib MiB)"
	per=$((vm_smp / numa))
	smp="$vm_smp,sockets=$numa,cores=$per,threads=1"
	for ((i = 0; i < numa; i++)); do
		numa_args+=(-object "memory-backend-ram,id=mem$i,size=$((mem_mib / numa))M"
			-numa "node,nodeid=$i,memdev=mem$i,cpus=$((i * per))-$((i * per + per - 1))")
	done
fi
qemu=(timeout -k 10 "$vm_timeout"
	qemu-system-x86_64 -accel tcg -smp "$smp" -m "$vm_mem" "${numa_args[@]}"
	-nodefaults -no-user-config -display none -no-reboot
	-kernel "$kernel" -initrd "$initrd"
	-append "console=ttyS0,115200 panic=-1 loglevel=7 mitigations=off"
	-serial "file:$console")

start=$(date +%s)
if [ -n "$demo" ]; then
	# ttyS1 straight to our stdout, CRs stripped.
	"${qemu[@]}" -serial file:/dev/stdout </dev/null | tr -d '\r' | tee "$tapfile"
	qrc=${PIPESTATUS[0]}
elif [ -n "$run" ]; then
	# ttyS1 (stdout) to the output file, byte for byte; ttyS2 (stderr and
	# our status lines) to a file we follow.
	outfile=${output:-$logdir/run.out}
	mkdir -p "$(dirname "$outfile")"
	: >"$outfile"
	: >"$errfile"
	"${qemu[@]}" -serial "file:$outfile" -serial "file:$errfile" </dev/null >"$logdir/qemu.log" 2>&1 &
	qpid=$!
	tail -n +1 -s 0.2 --pid="$qpid" -f "$errfile" | grep --line-buffered -v '^mshare-vm: done rc=' >&2
	wait "$qpid"
	qrc=$?
else
	# A kernel that dies while booting, before /init loaded the module (seen:
	# an int3 Oops in text patching on 6.12 under multi-threaded TCG on a
	# loaded host), has run none of our code: boot again, at most twice, and
	# say so.  Anything after the module loaded counts.
	boots=0
	while :; do
		boots=$((boots + 1))
		"${qemu[@]}" -serial "file:$tapfile" </dev/null >"$logdir/qemu.log" 2>&1
		qrc=$?
		[ $boots -lt 3 ] || break
		grep -q -E '^(ok|not ok) ' "$tapfile" && break
		tr -d '\r' <"$console" | grep -q 'msharefs: ' && break
		cp "$console" "$logdir/console-failed-boot-$boots.log"
		echo "run-vm.sh: boot $boots died before the module was loaded" \
			"($logdir/console-failed-boot-$boots.log); booting again" >&2
	done
fi
secs=$(($(date +%s) - start))

scan_console() { # lines from the kernel, not the harness's own progress lines
	tr -d '\r' <"$console" | grep -v 'mshare-vm: ' | awk -f "$here/klog-expected.awk" |
		grep -E -A12 "$BAD" | head -n 30
}

if [ -n "$run" ]; then
	rc=$(tr -d '\r' <"$errfile" | sed -n 's/^mshare-vm: done rc=\([0-9]*\)$/\1/p' | tail -n 1)
	if [ -z "$rc" ]; then
		why="qemu exit status $qrc"
		[ "$qrc" = 124 ] && why="timed out after $vm_timeout s: --vm-timeout, MSHARE_VM_TIMEOUT"
		echo "run-vm.sh: the VM did not finish the script ($why); console tail:" >&2
		tr -d '\r' <"$console" | tail -n 30 >&2
		rc=1
	fi
	if hits=$(scan_console) && [ -n "$hits" ]; then
		echo "run-vm.sh: the kernel log shows problems:" >&2; echo "$hits" >&2; rc=1
	fi
	echo "run-vm.sh: VM ran $secs s, exit status $rc; console log: $console" >&2
	if [ -z "$output" ]; then
		cat "$outfile"
	fi
	exit "$rc"
fi

if [ -n "$demo" ]; then
	[ -n "$modnote" ] && printf 'run-vm.sh: %s\n' "$modnote"
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

[ -n "$modnote" ] && printf '%s\n' "$modnote" | sed 's/^/# /'
for f in "$logdir"/console-failed-boot-*.log; do
	[ -f "$f" ] || continue
	echo "# a boot died before the module was loaded and was retried: $f"
	tr -d '\r' <"$f" | grep -E -m1 -A3 'Oops|BUG:|panic' | sed 's/^/#   /'
done
echo "# $release: VM ran $secs s, console log: $console"
[ "$slowdown" -gt 1 ] &&
	echo "# $release: slow kernel (kernels.sh slowdown $slowdown): timeouts x$slowdown, stress operation counts /$slowdown"
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
	[ "$qrc" = 124 ] && echo "# timed out after $vm_timeout s (--vm-timeout, MSHARE_VM_TIMEOUT)"
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
