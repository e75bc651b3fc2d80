#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The install test: the Debian packages installed the way a user installs
# them, on a Debian 12 system booted in QEMU (TCG) with systemd as PID 1 on
# Debian's 6.1 kernel (the image: debian-image.sh, built by tools/setup).
# Prints TAP.
#
#   install-deb.sh [options] DEBDIR
#     --build-debs      build DEBDIR first (tools/build-debs DEBDIR: the
#                       packages and lintian; two TAP lines)
#     --logdir DIR      console logs, TAP of each boot, the payload
#                       (default: DEBDIR/install-test)
#     --boot-timeout S  each boot ($MSHARE_INSTALL_BOOT_TIMEOUT; default 900
#                       for the first, then 3 times what the first took if
#                       that is more: a busy host slows both alike)
#     --mem SIZE        guest memory ($MSHARE_INSTALL_MEM, default 2G)
#
# The guest boots from a qcow2 overlay on the cached image (which stays
# untouched) with a second, read-only disk carrying the payload: the
# packages of DEBDIR (all but the -dbgsym ones), tests/vm/install-deb-guest.sh,
# the README's example (the C program and the cc line of "Using the
# library").  install-deb-guest.sh runs one phase per boot (install,
# reboot); QEMU runs with -no-reboot, so the guest's reboot ends one QEMU
# run and this script boots the next one on the same overlay.  It adds its
# own lines: each boot reached the test and ended as the guest said, the
# console of each boot is free of kernel warnings; and a summary of the
# timings ("# timing: ..." lines).  No network in the guest.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
logdir='' build=''
boot_timeout=${MSHARE_INSTALL_BOOT_TIMEOUT:-900}
timeout_fixed=${MSHARE_INSTALL_BOOT_TIMEOUT:+1}
mem=${MSHARE_INSTALL_MEM:-2G}
while [ $# -gt 0 ]; do
	case $1 in
	--build-debs) build=1; shift ;;
	--logdir) logdir=$2; shift 2 ;;
	--boot-timeout) boot_timeout=$2; timeout_fixed=1; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	-*) echo "install-deb.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--build-debs] [--logdir DIR] [--boot-timeout S] [--mem SIZE] DEBDIR" >&2; exit 2; }
debdir=$1
mkdir -p "$debdir"
debdir=$(cd "$debdir" && pwd)
logdir=${logdir:-$debdir/install-test}

n=0 failed=0
out() { echo "$*"; }
result() { # result ok|fail DESCRIPTION [DIAGNOSTICS-FILE]
	n=$((n + 1))
	if [ "$1" = ok ]; then
		out "ok $n - $2"
	else
		out "not ok $n - $2"
		failed=$((failed + 1))
		[ -n "${3:-}" ] && [ -s "$3" ] && sed 's/^/# /' "$3" | tail -n 40
	fi
}
finish() {
	out "1..$n"
	[ $failed -eq 0 ]
	exit
}
bail() { # bail DESCRIPTION REASON...
	result fail "$1"
	shift
	printf '%s\n' "$@" | sed 's/^/# /'
	printf 'install-deb.sh: %s\n' "$@" >&2
	finish
}

t_all=$(date +%s)
if [ -n "$build" ]; then
	t0=$(date +%s)
	"$top/tools/build-debs" --no-lintian "$debdir" 2>"$debdir/build-debs.err"
	rc=$?
	secs=$(($(date +%s) - t0))
	if [ $rc -ne 0 ]; then
		bail "dpkg-buildpackage -us -uc -b" "$(tail -n 30 "$debdir/build-debs.err")"
	fi
	nd=0
	for f in "$debdir"/*.deb; do case $f in *-dbgsym_*) ;; *) nd=$((nd + 1)) ;; esac; done
	result ok "dpkg-buildpackage -us -uc -b: $nd packages ($secs s)"
	out "# timing: package build (dpkg-buildpackage, with the unit suite): $secs s"
	t0=$(date +%s)
	lrc=0
	lintian --fail-on error --display-info --tag-display-limit 0 "$debdir"/*.changes >"$debdir/lintian.log" 2>&1 || lrc=$?
	e=$(grep -c '^E: ' "$debdir/lintian.log") w=$(grep -c '^W: ' "$debdir/lintian.log") i=$(grep -c '^I: ' "$debdir/lintian.log")
	if [ $lrc -eq 0 ] && [ "$e" -eq 0 ]; then
		result ok "lintian: no errors ($w warnings, $i info; $debdir/lintian.log)"
	else
		result fail "lintian: no errors ($e errors, $w warnings, exit status $lrc)" "$debdir/lintian.log"
	fi
	grep -E '^(W|I): ' "$debdir/lintian.log" | sed 's/^/# lintian: /'
	out "# timing: lintian: $(($(date +%s) - t0)) s"
fi

image_dir=$("$here/debian-image.sh" dir)
if ! why=$("$here/debian-image.sh" status 2>&1); then
	bail "the Debian 12 image" "$why"
fi
command -v qemu-img >/dev/null || bail "qemu-img" "qemu-img not found (qemu-utils; run tools/setup)"
command -v qemu-system-x86_64 >/dev/null || bail "qemu" "qemu-system-x86_64 not found (run tools/setup)"
read -r _ r61 < <(grep '^6.1 ' "$image_dir/releases")
read -r _ r612 < <(grep '^6.12 ' "$image_dir/releases")

# The payload disk.
debs=()
for f in "$debdir"/*.deb; do
	case $f in *-dbgsym_*) continue ;; esac
	[ -f "$f" ] && debs+=("$f")
done
# At least the four of debian/control; all of them go to the guest.
for p in libmshare1 libmshare-dev mshare msharefs-dkms; do
	ls "$debdir/${p}_"*.deb >/dev/null 2>&1 || bail "the packages" "no ${p}_*.deb in $debdir (found: ${debs[*]:-none})"
done
version=$(dpkg-deb -f "${debs[0]}" Version)
rm -rf "$logdir"
mkdir -p "$logdir/payload/debs"
cp "${debs[@]}" "$logdir/payload/debs/"
install -m 755 "$here/install-deb-guest.sh" "$logdir/payload/guest.sh"
printf 'VERSION=%s\nR61=%s\nR612=%s\n' "$version" "$r61" "$r612" >"$logdir/payload/env"
# The README's example: the first C block of "Using the library" and the
# cc line of the sh block after it.
awk -v c="$logdir/payload/app.c" -v s="$logdir/payload/build.sh" '
	/^## / { sect = ($0 == "## Using the library") }
	!sect { next }
	/^```c$/ && !done_c { inc = 1; next }
	/^```sh$/ && done_c && !done_s { ins = 1; next }
	/^```$/ { if (inc) { inc = 0; done_c = 1 } else if (ins) { ins = 0; done_s = 1 }; next }
	inc { print > c }
	ins && /^cc / { print > s }
' "$top/README.md"
[ -s "$logdir/payload/app.c" ] && [ -s "$logdir/payload/build.sh" ] ||
	bail "the README example" "no C block and cc line in README.md, \"Using the library\""
payload=$logdir/payload.img
mkfs.ext4 -q -F -L MSHARETEST -d "$logdir/payload" "$payload" 64M >"$logdir/mkfs.log" 2>&1 ||
	bail "the payload disk" "$(cat "$logdir/mkfs.log")"
overlay=$logdir/root.qcow2
qemu-img create -q -f qcow2 -F raw -b "$image_dir/rootfs.img" "$overlay" >"$logdir/qemu-img.log" 2>&1 ||
	bail "the root overlay" "$(cat "$logdir/qemu-img.log")"

# As run-vm.sh's BAD, over each console log.
BAD='BUG:|WARNING:|Oops|Call Trace|KASAN|possible recursive locking|circular locking|leaked|Bad rss-counter|[Bb]ad page|general protection fault|Kernel panic|soft lockup|UBSAN'
BAD="$BAD|sleeping function called from invalid context|list_add corruption|list_del corruption"
BAD="$BAD|unreferenced object|suspected memory leak|page dumped because|VM_BUG_ON|kernel BUG at"

timings=()
boot=0 next=install
while [ "$next" != finished ]; do
	boot=$((boot + 1))
	console=$logdir/console-$boot.log tap=$logdir/tap-$boot.log
	: >"$tap"
	echo "install-deb.sh: boot $boot ($next) of $r61; console: $console" >&2
	t0=$(date +%s)
	timeout -k 10 "$boot_timeout" qemu-system-x86_64 -accel tcg -smp 2 -m "$mem" \
		-nodefaults -no-user-config -display none -no-reboot \
		-kernel "$image_dir/vmlinuz" -initrd "$image_dir/initrd.img" \
		-append "root=/dev/vda rw console=ttyS0,115200 panic=-1 mitigations=off" \
		-drive "file=$overlay,format=qcow2,if=virtio,cache=unsafe" \
		-drive "file=$payload,format=raw,if=virtio,readonly=on" \
		-serial "file:$console" -serial "file:$tap" </dev/null >"$logdir/qemu-$boot.log" 2>&1
	qrc=$?
	secs=$(($(date +%s) - t0))
	tr -d '\r' <"$tap" >"$tap.txt"
	while IFS= read -r line; do
		case $line in
		"ok - "*) result ok "${line#ok - }" ;;
		"not ok - "*) n=$((n + 1)); failed=$((failed + 1)); out "not ok $n - ${line#not ok - }" ;;
		"# timing: "*) timings+=("${line#\# timing: }"); out "$line" ;;
		"#"*) out "$line" ;;
		esac
	done <"$tap.txt"
	timings+=("boot $boot ($next), QEMU start to power-off: $secs s")
	out "# timing: boot $boot ($next), QEMU start to power-off: $secs s"
	tr -d '\r' <"$console" >"$console.txt"
	hits=$(grep -v 'mshare-install: ' "$console.txt" | grep -E -A12 "$BAD" | head -n 30)
	if [ -n "$hits" ]; then
		printf '%s\n' "$hits" >"$logdir/hits-$boot.txt"
		result fail "boot $boot ($next): console log free of kernel warnings" "$logdir/hits-$boot.txt"
	else
		result ok "boot $boot ($next): console log free of kernel warnings"
	fi
	if grep -qx '# mshare-install: reboot' "$tap.txt" && [ "$next" = install ]; then
		result ok "boot $boot ($next) ran its phase and rebooted ($secs s)"
		next=reboot
		# The second boot does as much (a DKMS build, apt, depmod):
		# on a busy host it is as much slower as the first was.
		if [ -z "$timeout_fixed" ] && [ $((3 * secs)) -gt "$boot_timeout" ]; then
			boot_timeout=$((3 * secs))
			out "# boot 1 took $secs s: boot 2 may take $boot_timeout s"
		fi
	elif grep -qx '# mshare-install: done' "$tap.txt" && [ "$next" = reboot ]; then
		result ok "boot $boot ($next) ran its phase and powered off ($secs s)"
		next=finished
	else
		why="qemu exit status $qrc"
		[ "$qrc" = 124 ] && why="timed out after $boot_timeout s (--boot-timeout, MSHARE_INSTALL_BOOT_TIMEOUT)"
		tail -n 40 "$console.txt" >"$logdir/tail-$boot.txt"
		result fail "boot $boot ($next) ran its phase ($why; console tail below, $console)" "$logdir/tail-$boot.txt"
		break
	fi
done
out "# timing summary (install test, $(($(date +%s) - t_all)) s in all):"
for t in "${timings[@]}"; do out "#   $t"; done
# The overlay is kept when something failed (qemu-img info; or boot it).
[ $failed -eq 0 ] && rm -f "$overlay"
finish
