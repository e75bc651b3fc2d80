#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The install test's Debian 12 system (tests/vm/install-deb.sh): a root
# filesystem image made with debootstrap from this machine's own apt
# sources (read at run time, as tools/setup does), booted in QEMU with
# systemd as PID 1 on Debian's 6.1 kernel.  It carries what installing the
# packages needs offline (the guest has no network): dkms, gcc, make,
# pkg-config, libmount-dev, openssl (DKMS signs modules), the linux-image
# and linux-headers packages of the 6.1 release of the kernel cache, the
# linux-image of its 6.12 release, and, in a local apt repository
# (/var/local/mshare-debs, `deb [trusted=yes] file:...`), the 6.12 headers
# packages: installing them later makes DKMS build for 6.12.
#
#   debian-image.sh build    build it unless the cache is current (see key);
#                            log in <cache>/debian12.log
#   debian-image.sh status   exit 0 if the cached image is built and current,
#                            else say why (stderr), exit 1
#   debian-image.sh key      the cache key
#   debian-image.sh cache-dir the image cache directory
#   debian-image.sh dir      the cache entry: rootfs.img (ext4, raw; boot it
#                            through a qcow2 overlay, never write it),
#                            vmlinuz and initrd.img (the 6.1 kernel and the
#                            image's own initramfs-tools initrd), releases
#                            ("6.1 RELEASE" and "6.12 RELEASE" lines), key
#
# The cache is ${LIBMSHARE_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/
# libmshare/images}/debian12/; the key holds the sha256 of what makes the
# image in this script (between the "image content" marks), the two
# kernel releases and their Debian versions (tools/setup fetches them into
# the kernel cache first): a new kernel, or a change to what makes the
# image (the lines between the "image content" marks), means a rebuild.
# Built in debian12.new/ and moved in when complete, under a lock.  Needs
# root (debootstrap, chroot), debootstrap and e2fsprogs (mkfs.ext4 -d).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
kernels=$here/kernels.sh

die() { echo "debian-image.sh: $*" >&2; exit 1; }

cache_dir() {
	echo "${LIBMSHARE_IMAGE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/libmshare/images}"
}
dir() { echo "$(cache_dir)/debian12"; }

# release SERIES: the release of SERIES (6.1, 6.12) in the kernel cache.
release() {
	local rel
	for rel in $("$kernels" list); do
		if [ "$("$kernels" series-of "$rel")" = "$1" ]; then
			echo "$rel"
			return 0
		fi
	done
	echo "debian-image.sh: no $1 kernel in the kernel cache (run tools/setup)" >&2
	return 1
}

# deb_version RELEASE: the Debian version tools/setup cached it from.
deb_version() {
	local f
	f="$("$kernels" cache-dir)/$1/version"
	[ -s "$f" ] || { echo "debian-image.sh: $f is missing (run tools/setup $1)" >&2; return 1; }
	cat "$f"
}

key() {
	local r61 r612
	r61=$(release 6.1) && r612=$(release 6.12) || return 1
	echo "content-sha256=$(sed -n '/^# --- image content begins/,/^# --- image content ends/p' "$0" |
		sha256sum | cut -d' ' -f1)" \
		"6.1=$r61=$(deb_version "$r61")" "6.12=$r612=$(deb_version "$r612")"
}

status() {
	local d want f
	d=$(dir)
	want=$(key) || return 1
	if [ ! -f "$d/key" ]; then
		echo "debian-image.sh: the Debian 12 image is not built (expected $d/key; run tools/setup)" >&2
		return 1
	fi
	if [ "$(cat "$d/key")" != "$want" ]; then
		echo "debian-image.sh: the Debian 12 image in $d is out of date ($(cat "$d/key"), want $want; run tools/setup)" >&2
		return 1
	fi
	for f in rootfs.img vmlinuz initrd.img releases; do
		[ -s "$d/$f" ] || { echo "debian-image.sh: $d/$f is missing (run tools/setup)" >&2; return 1; }
	done
}

# --- image content begins: what is between these marks makes the image
# (its sha256 is part of the cache key).
# What the guest carries, beyond debootstrap's minbase.  The kernel
# packages come from the suites the host uses for them (bookworm-security
# today), installed in the chroot by apt.
INCLUDE=(systemd systemd-sysv udev kmod initramfs-tools linux-base zstd
	dkms gcc make libc6-dev pkg-config libmount-dev openssl
	e2fsprogs procps)


# source_of SUITE: "SIGNED-BY URI" of the host's apt source for SUITE.
source_of() {
	local s
	s=$("$top/tools/setup" --print-source "$1") && [ -n "$s" ] ||
		{ echo "debian-image.sh: no apt source for $1 on this machine" >&2; return 1; }
	echo "$s"
}

mounted=()
# no_mounts DIR: nothing is mounted under DIR (before an rm -rf of it: the
# chroot has the host's /dev bound in).
no_mounts() {
	! awk '{ print $2 }' /proc/self/mounts | grep -q "^$1/"
}
umount_all() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -l "${mounted[$i]}" 2>/dev/null || true
	done
	mounted=()
}
bind() { # bind SRC DEST [mount options]
	mkdir -p "$2"
	mount "${@:3}" "$1" "$2"
	mounted+=("$2")
}

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

# sources_entry NAME SUITE "SIGNED-BY URI": a deb822 stanza for the chroot;
# the host's keyring file goes along.
sources_entry() {
	local sb uris
	read -r sb uris <<<"$3"
	echo "Types: deb"
	echo "URIs: $uris"
	echo "Suites: $2"
	echo "Components: main"
	if [ "$sb" != - ]; then
		mkdir -p "$root/etc/apt/keyrings"
		cp "$sb" "$root/etc/apt/keyrings/mshare-image-$1.gpg"
		echo "Signed-By: /etc/apt/keyrings/mshare-image-$1.gpg"
	fi
	echo
}

# compile: everything, in $root; the caller checks the status.
compile() {
	local main sec sb uris r61 r612 v61 v612 keyring=() f deps
	main=$(source_of bookworm) && sec=$(source_of bookworm-security) || return 1
	r61=$(release 6.1) && r612=$(release 6.12) || return 1
	v61=$(deb_version "$r61") && v612=$(deb_version "$r612") || return 1
	read -r sb uris <<<"$main"
	[ "$sb" != - ] && keyring=(--keyring="$sb")
	echo "== $(date): debootstrap bookworm from ${uris%% *}"
	debootstrap --variant=minbase --components=main "${keyring[@]}" \
		--include="$(IFS=,; echo "${INCLUDE[*]}")" bookworm "$root" "${uris%% *}" || return 1

	echo "== $(date): kernels $r61 ($v61), $r612 ($v612) from the host's bookworm and bookworm-security sources"
	rm -f "$root/etc/apt/sources.list"
	{ sources_entry main bookworm "$main"; sources_entry security bookworm-security "$sec"; } \
		>"$root/etc/apt/sources.list.d/mshare-image.sources"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	bind proc "$root/proc" -t proc
	bind sysfs "$root/sys" -t sysfs
	bind /dev "$root/dev" --bind
	bind devpts "$root/dev/pts" -t devpts
	in_root apt-get update -qq || return 1
	in_root apt-get install -y -qq --no-install-recommends \
		"linux-image-$r61=$v61" "linux-headers-$r61=$v61" "linux-image-$r612=$v612" || return 1
	# The 6.12 headers: what linux-headers-$r612 needs (its -common and
	# linux-kbuild packages, pahole...) is installed here; the package
	# itself, whose installation runs DKMS's header_postinst.d hook, is
	# put in a local repository for the test to install offline.
	# (Unpacking -common, 17,000 files, took 4 minutes under TCG: the
	# test would spend them on dpkg, not on DKMS.)
	in_root apt-get clean
	in_root apt-get install -y -qq --download-only --no-install-recommends "linux-headers-$r612=$v612" || return 1
	mkdir -p "$root/var/local/mshare-debs"
	mv "$root"/var/cache/apt/archives/linux-headers-"$r612"_*.deb "$root/var/local/mshare-debs/" || return 1
	deps=$(cd "$root" && ls var/cache/apt/archives/*.deb | sed 's|^|/|') || return 1
	# shellcheck disable=SC2086 # one word per package file
	in_root apt-get install -y -qq --no-install-recommends $deps || return 1
	(cd "$root/var/local/mshare-debs" && dpkg-scanpackages -m . 2>/dev/null >Packages) || return 1
	ls "$root/var/local/mshare-debs"
	rm -f "$root/etc/apt/sources.list.d/mshare-image.sources" "$root"/etc/apt/keyrings/mshare-image-*.gpg
	echo "deb [trusted=yes] file:/var/local/mshare-debs ./" >"$root/etc/apt/sources.list.d/mshare-local.list"
	in_root apt-get update -qq || return 1
	in_root apt-get clean
	# No drivers for hardware the guest does not have (QEMU -nodefaults:
	# no NIC, GPU, sound, USB...): depmod, which DKMS runs for a kernel at
	# every install and removal, reads every module, and took 20 s (6.1,
	# 4,000 modules) and 49 s (6.12, xz-compressed) under TCG with them.
	for rel in "$r61" "$r612"; do
		for f in drivers/media drivers/net drivers/gpu drivers/iio drivers/usb drivers/hid \
			drivers/hwmon drivers/platform drivers/comedi drivers/mtd drivers/video \
			drivers/watchdog drivers/infiniband drivers/staging drivers/bluetooth \
			drivers/isdn drivers/leds sound net/wireless net/mac80211 net/bluetooth; do
			rm -rf "$root/lib/modules/$rel/kernel/$f"
		done
		in_root depmod -a "$rel" || return 1
		echo "$rel: $(find "$root/lib/modules/$rel" -name '*.ko*' | wc -l) modules left"
	done
	umount_all

	echo "== $(date): configuring"
	echo mshare-test >"$root/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tmshare-test\n' >"$root/etc/hosts"
	: >"$root/etc/resolv.conf"
	printf '/dev/vda\t/\text4\terrors=remount-ro\t0\t0\n' >"$root/etc/fstab"
	# Nothing that would start apt or other work on its own behind the test.
	for f in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
		e2scrub_reap.service; do
		ln -sf /dev/null "$root/etc/systemd/system/$f"
	done
	# The test's entry point: runs the script of the disk the host gives
	# (/dev/vdb, see install-deb.sh) once the system is up.
	cat >"$root/usr/local/sbin/mshare-test-runner" <<'EOF'
#!/bin/sh
# Run the libmshare install test from the second disk (tests/vm/install-deb.sh).
i=0
while [ ! -b /dev/vdb ] && [ $i -lt 60 ]; do sleep 0.5; i=$((i + 1)); done
[ -b /dev/vdb ] || { echo "mshare-test-runner: no /dev/vdb, nothing to do"; exit 0; }
mkdir -p /run/mshare-test
mount -o ro /dev/vdb /run/mshare-test || exit 1
exec /bin/sh /run/mshare-test/guest.sh
EOF
	chmod 755 "$root/usr/local/sbin/mshare-test-runner"
	cat >"$root/etc/systemd/system/mshare-test.service" <<'EOF'
[Unit]
Description=libmshare install test (tests/vm/install-deb.sh)
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/mshare-test-runner
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
EOF
	mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
	ln -sf /etc/systemd/system/mshare-test.service "$root/etc/systemd/system/multi-user.target.wants/"
	in_root passwd -d root >/dev/null
	printf '6.1 %s\n6.12 %s\n' "$r61" "$r612" >"$new/releases"
	cp "$root/boot/vmlinuz-$r61" "$new/vmlinuz" || return 1
	cp "$root/boot/initrd.img-$r61" "$new/initrd.img" || return 1

	local mb
	mb=$(du -sm "$root" | cut -f1)
	# Room for the packages, DKMS builds for two kernels, the 6.12 headers.
	mb=$((mb + 1536))
	echo "== $(date): mkfs.ext4 -d ($mb MiB)"
	mkfs.ext4 -q -F -L mshare-root -d "$root" "$new/rootfs.img" "${mb}M" || return 1
	echo "== $(date): done"
}
# --- image content ends

build() {
	local d k t0 secs log
	[ "$(id -u)" -eq 0 ] || die "building the image needs root (debootstrap, chroot)"
	command -v debootstrap >/dev/null || die "debootstrap is not installed (run tools/setup)"
	d=$(dir)
	mkdir -p "$(dirname "$d")"
	exec 9>"$d.lock"
	if ! flock -n 9; then
		echo "debian-image.sh: another build is running; waiting for it" >&2
		flock 9
	fi
	if status 2>/dev/null; then
		echo "debian-image.sh: $d is current ($(key))" >&2
		return 0
	fi
	k=$(key) || exit 1
	log=$d.log
	new=$d.new
	root=$new/root
	echo "debian-image.sh: building the Debian 12 image ($k) in $new; log: $log" >&2
	t0=$(date +%s)
	no_mounts "$new" || die "something is still mounted under $new"
	rm -rf "$new"
	mkdir -p "$root"
	trap umount_all EXIT
	if ! compile >"$log" 2>&1; then
		umount_all
		tail -n 40 "$log" >&2
		die "building the image failed (log: $log)"
	fi
	no_mounts "$new" || die "something is still mounted under $new"
	rm -rf "$root"
	echo "$k" >"$new/key"
	rm -rf "$d.old"
	[ ! -e "$d" ] || mv "$d" "$d.old"
	mv "$new" "$d"
	rm -rf "$d.old"
	secs=$(($(date +%s) - t0))
	echo "== built in $secs s" >>"$log"
	echo "debian-image.sh: built in $secs s -> $d ($(du -sh --apparent-size "$d/rootfs.img" | cut -f1) image, $(du -sh "$d/rootfs.img" | cut -f1) used)" >&2
}

case ${1:-} in
build) build ;;
status) status ;;
key) key ;;
dir) dir ;;
cache-dir) cache_dir ;;
*) echo "usage: $0 build | status | key | dir | cache-dir" >&2; exit 2 ;;
esac
