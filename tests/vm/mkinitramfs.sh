#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Build the live-suite initramfs (cpio.gz):
#   busybox-static + applet links, /init (tests/vm/init.sh), the module as
#   /lib/msharefs.ko, extra kernel modules as /lib/<name>.ko, BINs in
#   /opt/mshare/bin and every shared library they need (system libraries and
#   the dynamic loader at their own paths, others -- libmshare.so from a
#   build dir or a DESTDIR -- in /opt/mshare/lib, which init puts on
#   LD_LIBRARY_PATH).
#
#   mkinitramfs.sh -o OUT.cpio.gz -k MODULE.ko [-m EXTRA.ko]... [-d DEMO_SCRIPT |
#                  -r RUN_SCRIPT] [-L LIBDIR]... [-e NAME=VALUE]...
#                  [-E NAME=VALUE]... [-x FILELIST]... BIN...
#
#   -m EXTRA.ko    another kernel module, put in the image as /lib/EXTRA.ko
#                  (not loaded: a test that needs it insmods it)
#   -L LIBDIR      search LIBDIR first for libraries (LD_LIBRARY_PATH for ldd)
#   -d SCRIPT      demo mode: init runs SCRIPT instead of the live tests
#   -r SCRIPT      run mode: init runs SCRIPT instead of the live tests, its
#                  stdout on ttyS1, its stderr on ttyS2 (see run-vm.sh --run)
#   -e NAME=VALUE  written to /etc/mshare/env, read by init (e.g.
#                  MSHARE_TEST_TIMEOUT=120, MSHARE_TESTS="live-a live-b")
#   -E NAME=VALUE  same, but exported to the tests / the script
#   -x FILELIST    more files of the host, for a suite that runs real
#                  programs (tests/workload/files.txt): one per line, "PATH"
#                  (the same path in the image) or "PATH DEST"; PATH may
#                  be a directory (copied whole) or a shell glob; '#'
#                  starts a comment.  Every ELF file copied brings its
#                  libraries, as the BINs do; a PATH that matches nothing
#                  fails the build.
# Live tests are the BINs named live-*; the others are helpers/examples.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out='' ko='' demo='' run=''
libdirs=() envs=() exports=() extra=() lists=()
while getopts o:k:m:d:r:L:e:E:x: opt; do
	case $opt in
	o) out=$OPTARG ;;
	k) ko=$OPTARG ;;
	m) extra+=("$OPTARG") ;;
	d) demo=$OPTARG ;;
	r) run=$OPTARG ;;
	L) libdirs+=("$OPTARG") ;;
	e) envs+=("$OPTARG") ;;
	E) exports+=("$OPTARG") ;;
	x) lists+=("$OPTARG") ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$out" ] && [ -n "$ko" ] || { echo "usage: $0 -o OUT -k KO [-m KO]... [-d DEMO | -r SCRIPT] [-L DIR]... [-e N=V]... [-E N=V]... BIN..." >&2; exit 2; }
[ -f "$ko" ] || { echo "mkinitramfs: module $ko not found" >&2; exit 1; }
for m in "${extra[@]:+${extra[@]}}"; do
	[ -f "$m" ] || { echo "mkinitramfs: module $m not found" >&2; exit 1; }
done
for l in "${lists[@]:+${lists[@]}}"; do
	[ -f "$l" ] || { echo "mkinitramfs: file list $l not found" >&2; exit 1; }
done
[ -z "$demo" ] || [ -f "$demo" ] || { echo "mkinitramfs: demo script $demo not found" >&2; exit 1; }
[ -z "$run" ] || [ -f "$run" ] || { echo "mkinitramfs: script $run not found" >&2; exit 1; }

busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "mkinitramfs: busybox not found (apt-get install busybox-static)" >&2; exit 1; }
if ldd "$busybox" >/dev/null 2>&1; then
	echo "mkinitramfs: $busybox is not static (apt-get install busybox-static)" >&2; exit 1
fi

root=$(mktemp -d)
chmod 755 "$root" # mktemp makes it 0700: / must be searchable by the tests' uid 1000
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc/mshare,lib,opt/mshare/bin,opt/mshare/lib,root}
cp "$busybox" "$root/bin/busybox"
for a in $("$root/bin/busybox" --list-full); do
	[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
done
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$root/dev/null" c 1 3 2>/dev/null || true
install -m 755 "$here/init.sh" "$root/init"
install -m 644 "$here/klog-expected.awk" "$root/klog-expected.awk"
cp "$ko" "$root/lib/msharefs.ko"
for m in "${extra[@]:+${extra[@]}}"; do
	cp "$m" "$root/lib/$(basename "$m")"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"

copy_lib() { # copy_lib NAME PATH
	local name=$1 path=$2 dest
	case $path in
	/lib/* | /lib64/* | /usr/lib/* | /usr/lib64/*) dest=$root$path ;;
	*) dest=$root/opt/mshare/lib/$name ;;
	esac
	[ -e "$dest" ] && return 0
	mkdir -p "$(dirname "$dest")"
	cp -L "$path" "$dest"
}

ldpath=$(IFS=:; echo "${libdirs[*]:-}")
ldpath=${ldpath}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
is_elf() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]; }
# copy_deps FILE: the shared libraries ELF file FILE needs.
copy_deps() {
	local bin=$1 deps name arrow path
	is_elf "$bin" || return 0
	if ! deps=$(LD_LIBRARY_PATH=$ldpath ldd "$bin" 2>&1); then
		grep -q 'not a dynamic executable' <<<"$deps" && return 0
		echo "mkinitramfs: ldd $bin failed: $deps" >&2; exit 1
	fi
	if grep -q 'not found' <<<"$deps"; then
		echo "mkinitramfs: $bin: missing libraries:" >&2
		grep 'not found' <<<"$deps" >&2
		exit 1
	fi
	while read -r name arrow path _; do
		if [ "$arrow" = "=>" ] && [ -n "$path" ] && [ "${path:0:1}" = / ]; then
			copy_lib "$name" "$path"
		elif [ "${name:0:1}" = / ]; then # the dynamic loader
			copy_lib "$(basename "$name")" "$name"
		fi
	done <<<"$deps"
}

for bin in "$@"; do
	[ -f "$bin" ] || { echo "mkinitramfs: $bin not found" >&2; exit 1; }
	install -m 755 "$bin" "$root/opt/mshare/bin/$(basename "$bin")"
	# Scripts need nothing more; ELF files need their libraries.
	copy_deps "$bin"
done

# The file lists: host files at their paths (or DEST), with their libraries.
for l in "${lists[@]:+${lists[@]}}"; do
	while read -r src dest _; do
		case $src in '' | '#'*) continue ;; esac
		# shellcheck disable=SC2206 # a glob, on purpose
		matches=($src)
		if [ ! -e "${matches[0]}" ]; then
			echo "mkinitramfs: $l: $src: no such file on this host (tools/setup installs it)" >&2
			exit 1
		fi
		for m in "${matches[@]}"; do
			d=$root${dest:-$m}
			[ -n "$dest" ] && [ ${#matches[@]} -gt 1 ] && d=$root$dest/$(basename "$m")
			mkdir -p "$(dirname "$d")"
			cp -a -L "$m" "$d"
			if [ -d "$m" ]; then
				while IFS= read -r -d '' f; do copy_deps "$f"; done \
					< <(find "$m" -type f -print0)
			else
				copy_deps "$m"
			fi
		done
	done <"$l"
done

quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; } # for sh: 'it'\''s'
{
	if [ -n "$demo" ]; then
		install -m 755 "$demo" "$root/opt/mshare/demo.sh"
		echo "MSHARE_MODE=demo"
	elif [ -n "$run" ]; then
		install -m 755 "$run" "$root/opt/mshare/run.sh"
		echo "MSHARE_MODE=run"
	else
		echo "MSHARE_MODE=tests"
	fi
	for e in "${envs[@]:+${envs[@]}}"; do
		echo "${e%%=*}=$(quote "${e#*=}")"
	done
	for e in "${exports[@]:+${exports[@]}}"; do
		echo "export ${e%%=*}=$(quote "${e#*=}")"
	done
} >"$root/etc/mshare/env"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet | gzip -1 >"$out.tmp")
mv "$out.tmp" "$out"
