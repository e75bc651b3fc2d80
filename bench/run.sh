#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run mshare-bench in the VM, once per kernel release, and write the results
# (markdown) to bench/RESULTS.md and stdout.
#
#   bench/run.sh [options] [RELEASE...]
#     RELEASE...          kernels to boot (default: tests/vm/kernels.sh list)
#     --builddir DIR      use DIR/bench/mshare-bench and DIR/src/libmshare.so
#                         (a meson build with bench/ in it); default: compile
#                         bench/mshare-bench.c with the library sources here
#     --args "ARGS"       mshare-bench arguments (default: $DEFAULT_ARGS)
#     --mem SIZE          VM memory (default 4G: the scale run must fit in it)
#     --out FILE          results file (default bench/RESULTS.md; - = none)
#     --workdir DIR       build products and VM logs (default: a new
#                         directory under ${TMPDIR:-/tmp})
#     --wait-idle LOAD    before each boot, wait (up to 30 min) until the
#                         host's 1-minute load average is below LOAD: the VM
#                         is TCG, every other busy process on the host shows
#                         in the times
#     --quick             a small run (64 MiB, N = 1,2,8, no scale run), to
#                         try the machinery; the results file is not written
#                         unless --out is given
#
# The module is built from module/ as it is now (uncommitted changes too), by
# module/build.sh, for each release.  Needs what tools/setup installs.
set -euo pipefail

DEFAULT_ARGS='-s 1G -n 1,2,8,32,128 -p 3 -r 15 -x 1000'
QUICK_ARGS='-s 64M -n 1,2,8 -p 3 -r 5 -q'

top=$(cd "$(dirname "$0")/.." && pwd)
# The module's MODULE_VERSION (module/build.sh), from meson.build as
# module/Makefile reads it.
version=$(make -s -C "$top/module" version)
cmdline=bench/run.sh
[ $# -eq 0 ] || cmdline+=$(printf ' %q' "$@")
builddir='' args='' mem=4G out='' workdir='' wait_idle='' quick=0
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=$2; shift 2 ;;
	--args) args=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--workdir) workdir=$2; shift 2 ;;
	--wait-idle) wait_idle=$2; shift 2 ;;
	--quick) quick=1; shift ;;
	-h | --help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ -z "$args" ]; then
	if [ $quick = 1 ]; then args=$QUICK_ARGS; else args=$DEFAULT_ARGS; fi
fi
if [ -z "$out" ]; then
	if [ $quick = 1 ]; then out=-; else out=$top/bench/RESULTS.md; fi
fi

mapfile -t releases < <("$top/tests/vm/kernels.sh" list "$@")
[ ${#releases[@]} -gt 0 ] || { echo "run.sh: no kernel release to run (tools/setup)" >&2; exit 1; }

if [ -z "$workdir" ]; then
	workdir=$(mktemp -d "${TMPDIR:-/tmp}/mshare-bench.XXXXXX")
fi
mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd)
say() { echo "run.sh: $*" >&2; }

# The benchmark binary.
libdir=()
if [ -n "$builddir" ]; then
	bin=$builddir/bench/mshare-bench
	[ -x "$bin" ] || { echo "run.sh: $bin not built (meson compile -C $builddir; is subdir('bench') in meson.build?)" >&2; exit 1; }
	libdir=(--libdir "$builddir/src")
else
	bin=$workdir/mshare-bench
	say "compiling $bin"
	# shellcheck disable=SC2046 # pkg-config prints several words
	cc -std=gnu11 -O2 -g -D_GNU_SOURCE -fno-strict-aliasing \
		-Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes \
		-Wstrict-prototypes -Wvla -Werror \
		-I"$top/include" -I"$top/include/uapi" -I"$top/src" \
		$(pkg-config --cflags mount) \
		-o "$bin" "$top/bench/mshare-bench.c" "$top"/src/*.c \
		$(pkg-config --libs mount) -lpthread
fi

# What runs in the VM: the benchmark alone, its tables on stdout.
script=$workdir/bench-vm.sh
{
	echo '#!/bin/sh'
	echo "exec mshare-bench $args"
} >"$script"

host_load() { cut -d' ' -f1 /proc/loadavg; }

wait_for_idle() {
	local waited=0
	[ -n "$wait_idle" ] || return 0
	while awk -v l="$(host_load)" -v m="$wait_idle" 'BEGIN { exit !(l >= m) }'; do
		if [ $waited -ge 1800 ]; then
			say "host load still $(host_load) after 30 min; running anyway"
			return 0
		fi
		[ $waited = 0 ] && say "host load $(host_load) >= $wait_idle: waiting (--wait-idle)"
		sleep 15
		waited=$((waited + 15))
	done
}

# Sample the host's load average while the VM runs: FILE gets one a line.
sample_load() {
	while :; do host_load >>"$1"; sleep 10; done
}

qemu_version=$(qemu-system-x86_64 --version | head -n 1)
# Which module was measured: the commit, and whether module/ differed from it.
tree=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$top" status --porcelain -- module include/uapi 2>/dev/null)" ]; then
	tree="$tree with uncommitted changes in module/ (sources sha256 $(cat "$top"/module/*.[ch] | sha256sum | cut -c1-12))"
fi
date_run=$(date -u '+%Y-%m-%d %H:%M UTC')
sections=()
failed=0
for rel in "${releases[@]}"; do
	ko=$workdir/msharefs-$rel.ko
	say "building msharefs.ko for $rel"
	kdir=$("$top/tests/vm/kernels.sh" kdir "$rel")
	"$top/module/build.sh" "$kdir" "$ko" "$top/module" "$top/include/uapi" \
		"$workdir/kbuild-$rel" "$version"

	wait_for_idle
	loadfile=$workdir/load-$rel.txt
	: >"$loadfile"
	sample_load "$loadfile" &
	sampler=$!
	say "booting $rel (TCG, -smp 2, -m $mem): mshare-bench $args"
	start=$(date +%s)
	rc=0
	"$top/tests/vm/run-vm.sh" --run "$script" --output "$workdir/out-$rel.md" \
		--mem "$mem" --smp 2 --vm-timeout 3000 --logdir "$workdir/vm-$rel" \
		"${libdir[@]}" "$rel" "$ko" "$bin" || rc=$?
	secs=$(($(date +%s) - start))
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	load=$(awk '{ s += $1; if (NR == 1 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 }
		END { if (NR) printf "min %.1f, mean %.1f, max %.1f", lo, s / NR, hi }' "$loadfile")

	section=$workdir/section-$rel.md
	{
		echo "## Kernel $rel"
		echo
		echo "VM: QEMU TCG (no KVM), -smp 2, -m $mem, boot to poweroff $secs s;" \
			"host 1-minute load average during the run: ${load:-not sampled} (the host has $(nproc) CPUs)."
		echo
		if [ $rc = 0 ]; then
			cat "$workdir/out-$rel.md"
		else
			failed=1
			echo "**The run failed** (run-vm.sh exit status $rc); what it printed:"
			echo
			echo '```'
			cat "$workdir/out-$rel.md"
			echo '```'
			echo
			echo "Console log: $workdir/vm-$rel/console.log"
		fi
		echo
	} >"$section"
	sections+=("$section")
	say "$rel: done in $secs s (exit status $rc)"
done

results=$workdir/RESULTS.md
{
	echo "# libmshare benchmark results"
	echo
	echo "Made by \`$cmdline\` on $date_run, tree $tree;"
	echo "the module is built from \`module/\` for each kernel. Method and how to"
	echo "read the tables: [README.md](README.md) in this directory."
	echo
	echo "- Machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"); $qemu_version."
	echo "- VM: QEMU TCG (no KVM: every instruction is emulated), 2 vCPUs, $mem,"
	echo "  kernel command line \`mitigations=off\`; one boot per kernel runs"
	echo "  \`mshare-bench $args\` (the matrix, the interleaved steady state and"
	echo "  the scale run) in the initramfs, module loaded, msharefs mounted."
	echo "- Kernels: ${releases[*]}."
	echo
	cat "${sections[@]}"
} >"$results"

cat "$results"
if [ "$out" != - ]; then
	# Keep the tables bench/workload.sh put there.
	if [ -f "$out" ] && grep -q '^<!-- workload: begin -->' "$out"; then
		{ echo; sed -n '/^<!-- workload: begin -->/,/^<!-- workload: end -->/p' "$out"; } >>"$results"
	fi
	cp "$results" "$out"
	say "wrote $out"
fi
say "work directory: $workdir"
exit $failed
