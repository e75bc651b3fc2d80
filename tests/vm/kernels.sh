#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Kernel releases for the live suite and where they are cached.
#
#   kernels.sh list [RELEASE...]   releases to test, one per line: the
#                                  arguments if any (meson option
#                                  live_kernels), else one release per
#                                  kernel series (see `series`): the newest
#                                  complete one in the cache (image and
#                                  build tree), or for the debug kernel a
#                                  current build
#   kernels.sh series              the default matrix, one series a line:
#                                  NAME KIND HEADERS-PACKAGE-REGEX; KIND is
#                                  deb (Debian packages: tools/setup takes
#                                  the newest headers package apt knows
#                                  whose name matches, and its image),
#                                  deb@SUITE (the same from the apt of a
#                                  root filesystem of Debian suite SUITE,
#                                  see `root-dir`) or debug (built by
#                                  tests/vm/debug-kernel.sh)
#   kernels.sh release-regex NAME  the releases of series NAME (an ERE)
#   kernels.sh series-of RELEASE   the series RELEASE belongs to (or nothing)
#   kernels.sh missing             the series `list` finds no release for,
#                                  as NAME<tab>WHY, none if complete
#   kernels.sh image RELEASE       path of the cached vmlinuz; fails if missing
#   kernels.sh modules RELEASE     the cached extra modules for RELEASE (see
#                                  `extra-modules`), one path a line; each one
#                                  missing is reported on stderr, status 1
#   kernels.sh extra-modules       modules taken from the image package and
#                                  put in the VM as /lib/<name>.ko, as paths
#                                  under kernel/ without .ko
#   kernels.sh kdir RELEASE        kernel build directory (headers) for RELEASE
#   kernels.sh suite-of RELEASE    SUITE if RELEASE belongs to a deb@SUITE
#                                  series (or nothing)
#   kernels.sh root-dir SUITE      the root filesystem of Debian suite SUITE
#                                  (tools/setup makes it with debootstrap;
#                                  complete when it holds .libmshare-root)
#   kernels.sh slowdown RELEASE    about how many times slower than Debian's
#                                  generic kernels RELEASE runs the storms:
#                                  6 for the debug kernel, 2 for the RT
#                                  kernels and for 7.x, else 1 (run-vm.sh
#                                  scales its default timeouts by it and
#                                  passes it to the tests as MSHARE_SLOWDOWN)
#   kernels.sh cache-dir           the kernel cache directory
#
# Everything lives in ${XDG_CACHE_HOME:-$HOME/.cache}/libmshare/kernels/
# <release>/ (LIBMSHARE_KERNEL_CACHE overrides the directory), put there by
# tools/setup, never installed on the host: vmlinuz, config, System.map and
# the extra modules (decompressed, <name>.ko; one the package does not have
# is listed with the reason in missing-modules) from the linux-image
# package, and build/, the module's KDIR.  For a Debian kernel build/ is a
# link into headers/, where the linux-headers, linux-headers-*-common and
# linux-kbuild packages are extracted (dpkg-deb -x); for a deb@SUITE
# kernel it is a link to /usr/src/linux-headers-<release> of the suite's
# root filesystem, root-SUITE/ in the same directory, where apt installed
# the headers with the suite's compiler and kbuild (module/build.sh builds
# there, in a chroot); for the debug kernel it is the kernel tree itself
# (see debug-kernel.sh).
set -eu

# The default matrix: Debian 12's own kernel (6.1), 6.12 (built for
# bookworm: bookworm-security and bookworm-backports carry it), Debian
# sid's 7.2 (built with gcc-16: from a sid root filesystem, never from the
# host's apt), the PREEMPT_RT flavour of each (same source packages and
# releases, -rt-amd64), and the debug kernel built from linux-source-6.1
# (debug-kernel.sh: KASAN, lockdep, kmemleak...).  The release of a
# packaged series is the newest whose headers package apt knows
# (tools/setup) and, for the tests, the newest in the cache: "the current
# release", whatever its number.  The next kernel is one line here (see
# HACKING.md, "Adding a kernel").
SERIES='6.1 deb ^linux-headers-6[.]1[.]0-[0-9]+-amd64$
6.12 deb ^linux-headers-6[.]12[.][0-9]+[+]deb12-amd64$
7.2 deb@sid ^linux-headers-7[.]2[.][0-9]+[+]deb14-amd64$
6.1-rt deb ^linux-headers-6[.]1[.]0-[0-9]+-rt-amd64$
6.12-rt deb ^linux-headers-6[.]12[.][0-9]+[+]deb12-rt-amd64$
7.2-rt deb@sid ^linux-headers-7[.]2[.][0-9]+[+]deb14-rt-amd64$
debug debug -'

EXTRA_MODULES='drivers/block/brd'

# KASAN (inline), lockdep and kmemleak under TCG: the fork/fault storms ran
# 7-9 times slower than on 6.1.0-56-amd64, the other live tests 1.5-2 times.
DEBUG_SLOWDOWN=6
# PREEMPT_RT: live-stress-storm took 1.25-1.6 times as long as on the
# generic flavour (49 s against 39 s; 75-84 s against 47-65 s on a busy
# host), at or past its 82 s deadline.
RT_SLOWDOWN=2
# Linux 7.x (generic flavour): live-stress-storm took 1.9 times as long as
# on 6.12.118 with the two VMs side by side (60.6 s against 32.2 s; attach
# 6.0 against 2.7 ms, detach 16.8 against 7.0 ms of CPU), 1.4 times as long
# as on 6.1 (82 s for 84% of the operations, against 68 s), and passed its
# 82 s deadline on a busy host.  The RT flavour of 7.2 ran the storm at
# slowdown 2 in 52 s.
V7_SLOWDOWN=2

cache_dir() {
	if [ -n "${LIBMSHARE_KERNEL_CACHE:-}" ]; then
		echo "$LIBMSHARE_KERNEL_CACHE"
	else
		echo "${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/libmshare/kernels"
	fi
}

here=$(cd "$(dirname "$0")" && pwd)

# release_regex NAME: the releases of a packaged series, from its headers
# package regex (linux-headers-6.1.0-57-amd64 -> 6.1.0-57-amd64).
release_regex() {
	printf '%s\n' "$SERIES" | awk -v n="$1" '$1 == n && $2 ~ /^deb(@|$)/ { print $3 }' |
		sed 's/^\^linux-headers-/^/'
}

# entry RELEASE: the cache directory of RELEASE.  The debug kernel's is
# named after its configuration too (debug-kernel.sh dir), so that builds
# of different debug-kernel.config fragments (branches) live side by side.
entry() {
	if [ "$1" = "$("$here/debug-kernel.sh" release 2>/dev/null)" ]; then
		"$here/debug-kernel.sh" dir
	else
		echo "$(cache_dir)/$1"
	fi
}

# series_of RELEASE: "NAME KIND" of the packaged series RELEASE belongs to.
series_of() {
	printf '%s\n' "$SERIES" | while read -r name kind _; do
		case $kind in deb | deb@*) ;; *) continue ;; esac
		if printf '%s\n' "$1" | grep -Eq "$(release_regex "$name")"; then
			echo "$name $kind"
			break
		fi
	done
}

# complete RELEASE: image and build tree cached.
complete() {
	[ -s "$(entry "$1")/vmlinuz" ] && [ -f "$(entry "$1")/build/Module.symvers" ]
}

# series_release NAME KIND: the newest complete release of the series in the
# cache; nothing if none.
series_release() {
	if [ "$2" = debug ]; then
		"$here/debug-kernel.sh" status 2>/dev/null && "$here/debug-kernel.sh" release
		return 0
	fi
	re=$(release_regex "$1")
	[ -d "$(cache_dir)" ] || return 0
	for rel in $(ls "$(cache_dir)" | grep -E "$re" | sort -V -r); do
		if complete "$rel"; then
			echo "$rel"
			return 0
		fi
	done
}

# why_missing NAME KIND: what to do about a series without a release.
why_missing() {
	if [ "$2" = debug ]; then
		"$here/debug-kernel.sh" status 2>&1 | sed 's/^debug-kernel.sh: //' | head -n 1
	else
		echo "no kernel of the series in $(cache_dir) (run tools/setup)"
	fi
}

default_list() { # prints "found RELEASE" or "missing NAME<tab>WHY" per series
	printf '%s\n' "$SERIES" | while read -r name kind _; do
		rel=$(series_release "$name" "$kind")
		if [ -n "$rel" ]; then
			echo "found $rel"
		else
			printf 'missing %s\t%s\n' "$name" "$(why_missing "$name" "$kind")"
		fi
	done
}

cmd=${1:-list}
[ $# -gt 0 ] && shift
case $cmd in
list)
	if [ $# -gt 0 ]; then
		for r in "$@"; do [ -n "$r" ] && echo "$r"; done
	else
		default_list | awk '$1 == "found" && !seen[$2]++ { print $2 }'
	fi
	;;
series)
	printf '%s\n' "$SERIES"
	;;
release-regex)
	[ $# -eq 1 ] || { echo "usage: $0 release-regex NAME" >&2; exit 2; }
	release_regex "$1"
	;;
series-of)
	[ $# -eq 1 ] || { echo "usage: $0 series-of RELEASE" >&2; exit 2; }
	series_of "$1" | cut -d' ' -f1
	;;
suite-of)
	[ $# -eq 1 ] || { echo "usage: $0 suite-of RELEASE" >&2; exit 2; }
	series_of "$1" | sed -n 's/^[^ ]* deb@//p'
	;;
root-dir)
	[ $# -eq 1 ] || { echo "usage: $0 root-dir SUITE" >&2; exit 2; }
	echo "$(cache_dir)/root-$1"
	;;
missing)
	default_list | sed -n 's/^missing //p'
	;;
image)
	[ $# -eq 1 ] || { echo "usage: $0 image RELEASE" >&2; exit 2; }
	img="$(entry "$1")/vmlinuz"
	if [ ! -s "$img" ]; then
		echo "kernels.sh: no kernel image for $1 (expected $img); run tools/setup" >&2
		exit 1
	fi
	echo "$img"
	;;
extra-modules)
	printf '%s\n' $EXTRA_MODULES
	;;
modules)
	[ $# -eq 1 ] || { echo "usage: $0 modules RELEASE" >&2; exit 2; }
	dir="$(entry "$1")"
	rc=0
	for m in $EXTRA_MODULES; do
		name=${m##*/}
		if [ -s "$dir/$name.ko" ]; then
			echo "$dir/$name.ko"
		elif why=$(grep -s "^$name: " "$dir/missing-modules"); then
			echo "kernels.sh: $1: no $name.ko for the VM: ${why#"$name": }" >&2
			rc=1
		else
			echo "kernels.sh: $1: no $name.ko for the VM (expected $dir/$name.ko); run tools/setup" >&2
			rc=1
		fi
	done
	exit $rc
	;;
kdir)
	[ $# -eq 1 ] || { echo "usage: $0 kdir RELEASE" >&2; exit 2; }
	# The cache first (tools/setup), then headers installed on this host.
	for d in "$(entry "$1")/build" "/usr/src/linux-headers-$1" "/lib/modules/$1/build"; do
		if [ -f "$d/Makefile" ]; then echo "$d"; exit 0; fi
	done
	echo "kernels.sh: no kernel headers for $1 (run tools/setup $1)" >&2
	exit 1
	;;
cache-dir)
	cache_dir
	;;
slowdown)
	[ $# -eq 1 ] || { echo "usage: $0 slowdown RELEASE" >&2; exit 2; }
	if [ "$1" = "$("$here/debug-kernel.sh" release 2>/dev/null)" ]; then
		echo "$DEBUG_SLOWDOWN"
	else
		case $1 in
		*-rt-amd64) echo "$RT_SLOWDOWN" ;;
		7.*) echo "$V7_SLOWDOWN" ;;
		*) echo 1 ;;
		esac
	fi
	;;
*)
	echo "usage: $0 list [RELEASE...] | series | release-regex NAME | series-of RELEASE | suite-of RELEASE | root-dir SUITE | missing | image RELEASE | modules RELEASE | extra-modules | kdir RELEASE | slowdown RELEASE | cache-dir" >&2
	exit 2
	;;
esac
