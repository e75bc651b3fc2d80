#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The issue's done criterion: after `meson install` into a DESTDIR, an
# example builds with `pkg-config --cflags --libs libmshare` alone and runs in
# the VM against the DESTDIR's libmshare.so, and the installed `mshare run`
# finds the installed libmshare-preload.so.  Prints TAP (via run-vm.sh).
#
#   install-check.sh MESON BUILD_ROOT EXAMPLE.c RELEASE MODULE.ko [LOGDIR]
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
meson=$1 build=$2 example=$3 release=$4 ko=$5
logdir=${6:-$build/meson-logs/install-check}

fail() { exec "$here/run-vm.sh" --fail "install check: $*"; }

rm -rf "$logdir"
mkdir -p "$logdir"
destdir=$logdir/destdir
if ! out=$("$meson" install -C "$build" --no-rebuild --destdir "$destdir" 2>&1); then
	fail "meson install --destdir $destdir failed:
$out"
fi
pc=$(find "$destdir" -name libmshare.pc | head -n 1)
[ -n "$pc" ] || fail "no libmshare.pc under $destdir"
[ -f "$example" ] || fail "example source $example not found"

PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR=$destdir
if ! flags=$(pkg-config --cflags --libs libmshare 2>&1); then
	fail "pkg-config --cflags --libs libmshare failed: $flags"
fi
name=live-installed-$(basename "$example" .c)
bin=$logdir/$name
# shellcheck disable=SC2086 # word splitting of the flags is intended
if ! out=$(${CC:-cc} -o "$bin" "$example" $flags 2>&1); then
	fail "cc -o $name $example $flags failed:
$out"
fi
libdir=$(dirname "$(find "$destdir" -name 'libmshare.so*' | head -n 1)")
echo "# built $name with: cc $(basename "$example") $flags"

# mshare run, installed, finds the installed libmshare-preload.so (here
# relative to itself: the tree is under a DESTDIR).
preload=$(find "$destdir" -name libmshare-preload.so | head -n 1)
tool=$(find "$destdir" -path '*/bin/mshare' | head -n 1)
[ -n "$preload" ] && [ -n "$tool" ] || fail "no bin/mshare or libmshare-preload.so under $destdir"
got=$(env -u MSHARE_PRELOAD_LIB LD_LIBRARY_PATH="$libdir" "$tool" run --quiet -- \
	sh -c 'echo "$LD_PRELOAD"' 2>&1)
[ "$(readlink -f "${got%%:*}")" = "$(readlink -f "$preload")" ] ||
	fail "the installed mshare run preloads '$got', not $preload"
echo "# the installed mshare run preloads $preload"
exec "$here/run-vm.sh" --logdir "$logdir/vm" --libdir "$libdir" "$release" "$ko" "$bin"
