#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The live suite's debug kernel (KASAN, lockdep, DEBUG_VM, kmemleak,
# DEBUG_ATOMIC_SLEEP, DEBUG_LIST; see debug-kernel.config), built from
# Debian's linux-source-6.1 package (/usr/src/linux-source-6.1.tar.xz):
# `make tinyconfig` plus the fragment tests/vm/debug-kernel.config.
#
#   debug-kernel.sh build     build it unless the cache is current (see key);
#                             log in <dir>.log
#   debug-kernel.sh dir       its cache entry (see below)
#   debug-kernel.sh release   its release name, e.g. 6.1.192-mshare-debug
#   debug-kernel.sh key       the cache key: source package version and
#                             sha256 of the config fragment
#   debug-kernel.sh status    exit 0 if the cached kernel is built and
#                             current, else say why (stderr), exit 1
#
# The result lives in the kernel cache (kernels.sh cache-dir), like the
# Debian images, as <cache>/<release>+<hash>/ (`dir`; <hash>: the first 8
# hex digits of the fragment's sha256, so that branches with different
# fragments keep their own builds): vmlinuz (arch/x86/boot/bzImage),
# brd.ko, config, System.map, key, and build/, the kernel tree itself: the
# module's KDIR (kernels.sh kdir), with Module.symvers.  Without the key
# file (or with another key) the kernel counts as not built.  The build
# happens in <dir>.new and replaces the entry only when complete, so a
# live run booting the previous build is not disturbed; builds take a lock
# (<dir>.lock): a second one waits, then finds the kernel current.
# $LIBMSHARE_KERNEL_JOBS sets make -j (default: the number of CPUs).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
FRAGMENT=$here/debug-kernel.config
SRCPKG=linux-source-6.1
TARBALL=/usr/src/$SRCPKG.tar.xz
LOCALVERSION=-mshare-debug

die() { echo "debug-kernel.sh: $*" >&2; exit 1; }

src_version() { # Debian version of the source package, e.g. 6.1.192-2
	v=$(dpkg-query -W -f='${Version}' "$SRCPKG" 2>/dev/null) || v=
	[ -n "$v" ] || { echo "debug-kernel.sh: $SRCPKG is not installed (run tools/setup)" >&2; return 1; }
	echo "$v"
}

release() { # 6.1.192-2 -> 6.1.192-mshare-debug
	v=$(src_version) || return 1
	v=${v#*:}
	echo "${v%%-*}$LOCALVERSION"
}

key() {
	v=$(src_version) || return 1
	echo "$SRCPKG=$v config-sha256=$(sha256sum <"$FRAGMENT" | cut -d' ' -f1)"
}

# The cache entry: the release and the first 8 hex digits of the
# fragment's sha256, e.g. 6.1.192-mshare-debug+e63df987: a branch with
# another fragment builds beside it instead of replacing it.
dir() {
	rel=$(release) || return 1
	echo "$("$here/kernels.sh" cache-dir)/$rel+$(sha256sum <"$FRAGMENT" | cut -c1-8)"
}

status() {
	rel=$(release) || return 1
	d=$(dir)
	want=$(key)
	if [ ! -f "$d/key" ]; then
		echo "debug-kernel.sh: the debug kernel $rel is not built (expected $d/key; run tools/setup)" >&2
		return 1
	fi
	if [ "$(cat "$d/key")" != "$want" ]; then
		echo "debug-kernel.sh: the debug kernel in $d is out of date ($(cat "$d/key"), want $want; run tools/setup)" >&2
		return 1
	fi
	for f in vmlinuz build/Module.symvers; do
		[ -s "$d/$f" ] || { echo "debug-kernel.sh: $d/$f is missing (run tools/setup)" >&2; return 1; }
	done
}

# check_config .CONFIG: every line of the fragment made it.
check_config() {
	bad=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qxF "$line" "$1" || {
				got=$(grep -E "^(# )?${line%%=*}[= ]" "$1" || echo "${line%%=*} absent")
				echo "debug-kernel.sh: wanted $line, got: $got" >&2
				bad=1
			} ;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			if grep -q "^$sym=" "$1"; then
				echo "debug-kernel.sh: wanted $line, got: $(grep "^$sym=" "$1")" >&2
				bad=1
			fi ;;
		esac
	done <"$FRAGMENT"
	return $bad
}

# compile TREE JOBS RELEASE KEY: unpack, configure, build (errexit does not
# apply here: the caller tests the status, so every step is checked).
compile() {
	echo "== $(date): building $3 ($4)"
	tar -xJf "$TARBALL" -C "$(dirname "$1")" || return 1
	mv "$(dirname "$1")/$SRCPKG" "$1" || return 1
	cd "$1" || return 1
	make -s ARCH=x86_64 tinyconfig || return 1
	scripts/kconfig/merge_config.sh -m .config "$FRAGMENT" || return 1
	make -s ARCH=x86_64 olddefconfig || return 1
	check_config .config || return 1
	echo "== $(date): configured, building"
	make -j"$2" ARCH=x86_64 bzImage modules || return 1
	echo "== $(date): built"
}

build() {
	rel=$(release) || exit 1
	d=$(dir)
	mkdir -p "$(dirname "$d")"
	# One build at a time (a second tools/setup waits, then finds it done).
	exec 9>"$d.lock"
	if ! flock -n 9; then
		echo "debug-kernel.sh: another build of $rel is running; waiting for it" >&2
		flock 9
	fi
	if status 2>/dev/null; then
		echo "debug-kernel.sh: $d is current ($(key))" >&2
		return 0
	fi
	[ -f "$TARBALL" ] || die "$TARBALL not found (apt-get install $SRCPKG; run tools/setup)"
	k=$(key)
	log=$d.log
	jobs=${LIBMSHARE_KERNEL_JOBS:-$(nproc)}
	# Built beside the cache entry and moved in when complete: an older
	# build stays usable until then (another live run may be booting it).
	new=$d.new
	echo "debug-kernel.sh: building $rel ($k) in $new/build, make -j$jobs; log: $log" >&2
	t0=$(date +%s)
	rm -rf "$new"
	mkdir -p "$new"
	(compile "$new/build" "$jobs" "$rel" "$k") >"$log" 2>&1 || {
		tail -n 40 "$log" >&2
		die "building the debug kernel failed (log: $log)"
	}
	b=$new/build
	got=$(cat "$b/include/config/kernel.release")
	[ "$got" = "$rel" ] || die "built $got, expected $rel (log: $log)"
	[ -s "$b/Module.symvers" ] || die "no Module.symvers after the build (log: $log)"
	cp "$b/.config" "$new/config"
	cp "$b/System.map" "$new/System.map"
	cp "$b/drivers/block/brd.ko" "$new/brd.ko"
	cp "$b/arch/x86/boot/bzImage" "$new/vmlinuz"
	# The vmlinux objects are not needed to build modules against the tree.
	rm -f "$b/vmlinux.o" "$b/vmlinux.a"
	echo "$k" >"$new/key"
	rm -rf "$d.old"
	[ ! -e "$d" ] || mv "$d" "$d.old"
	mv "$new" "$d"
	rm -rf "$d.old"
	secs=$(($(date +%s) - t0))
	echo "== built in $secs s" >>"$log"
	echo "debug-kernel.sh: built $rel in $secs s -> $d ($(du -sh "$d" | cut -f1))" >&2
}

case ${1:-} in
build) build ;;
release) release ;;
dir) dir ;;
key) key ;;
status) status ;;
*) echo "usage: $0 build | release | dir | key | status" >&2; exit 2 ;;
esac
