#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Build msharefs.ko out of tree in a private copy of the sources, so that
# builds for several kernels never share object files.
#   build.sh KDIR OUTPUT.ko SRCDIR UAPI_INCLUDE_DIR WORKDIR VERSION
# VERSION: the project's (meson.build), the module's MODULE_VERSION.
# A KDIR inside a root filesystem that tools/setup made for another Debian
# suite (a directory holding .libmshare-root, e.g. the sid root of the 7.2
# kernels: their headers need that suite's compiler and kbuild) is built
# there: the copy goes into the root's /tmp, make runs through chroot (in
# private mount and pid namespaces, with a /proc of their own: objtool
# reads it), and the .ko comes back out.  That needs root.
set -eu
kdir=$1 out=$2 src=$3 uapi=$4 work=$5 version=$6

# The root filesystem KDIR lives in, if any.
root=
d=$(readlink -f "$kdir")
while [ "$d" != / ] && [ -n "$d" ]; do
	if [ -f "$d/.libmshare-root" ]; then
		root=$d
		break
	fi
	d=$(dirname "$d")
done

rm -rf "$work"
mkdir -p "$work"
if [ -n "$root" ]; then
	[ "$(id -u)" -eq 0 ] || {
		echo "build.sh: $kdir is in the root filesystem $root: building there needs root (chroot)" >&2
		exit 1
	}
	tree=$(mktemp -d "$root/tmp/msharefs-build.XXXXXX")
	trap 'rm -rf "$tree"' EXIT
	rkdir=$(readlink -f "$kdir")
	rkdir=${rkdir#"$root"}
else
	tree=$work
fi
mkdir -p "$tree/include/uapi/linux"
cp "$src"/Kbuild "$src"/Makefile "$src"/*.c "$src"/*.h "$tree"/
cp "$uapi"/linux/msharefs.h "$tree/include/uapi/linux/"
if [ -n "$root" ]; then
	rc=0
	unshare --mount --pid --fork --mount-proc="$root/proc" \
		chroot "$root" make -s -C "$rkdir" M="${tree#"$root"}" MSHAREFS_VERSION="$version" \
		modules >"$work/build.log" 2>&1 || rc=$?
else
	rc=0
	make -s -C "$kdir" M="$tree" MSHAREFS_VERSION="$version" modules >"$work/build.log" 2>&1 || rc=$?
fi
if [ $rc -ne 0 ]; then
	cat "$work/build.log" >&2
	exit 1
fi
# Kbuild notes; anything else it prints is a warning the tree must not have.
if grep -v -e '^Skipping BTF generation' "$work/build.log" | grep -q .; then
	cat "$work/build.log" >&2
	echo "build.sh: the module build printed warnings" >&2
	exit 1
fi
cp "$tree/msharefs.ko" "$out"
