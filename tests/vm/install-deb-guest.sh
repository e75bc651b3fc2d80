#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The install test inside the Debian 12 guest (tests/vm/install-deb.sh;
# the image: debian-image.sh).  systemd starts it on every boot
# (mshare-test.service) from the payload disk, mounted read-only on
# /run/mshare-test: the packages (debs/), env (VERSION, R61, R612), the
# README's example (app.c, build.sh: its cc line).  It runs one phase per
# boot, kept in /var/lib/mshare-install-test/phase:
#   install  apt installs the packages offline; DKMS built the module for
#            the running kernel; the unit is enabled and mounted; reboot
#   reboot   msharefs mounted by the unit at boot, mshare info, the README
#            example built with pkg-config and run, mount options from a
#            drop-in, the module autoloads on mount -t msharefs, mshare run,
#            the 6.12 headers make DKMS build
#            for 6.12, apt purge leaves nothing behind; power off
# TAP lines (unnumbered: the host numbers them) go to ttyS1, progress to
# the console; "# timing: WHAT: N s" lines carry the measurements, and
# "# mshare-install: reboot" / "# mshare-install: done" tell the host what
# comes next.
set -u
P=/run/mshare-test
S=/var/lib/mshare-install-test
UNIT=sys-fs-mshare.mount
MNT=/sys/fs/mshare
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 HOME=/root
# shellcheck source=/dev/null
. "$P/env"
# The packages: every one the host built (not the -dbgsym ones).
PKGS=$(for f in "$P"/debs/*.deb; do dpkg-deb -f "$f" Package; done | tr '\n' ' ')
PKGS=${PKGS% }

mkdir -p "$S"
stty -F /dev/ttyS1 raw -echo 2>/dev/null
exec 3>/dev/ttyS1
cd "$S" || exit 1

say() { echo "mshare-install: $*"; }
tap() { echo "$*" >&3; say "$*"; }
timing() { tap "# timing: $1: $2 s"; }
now() { cut -d' ' -f1 /proc/uptime | cut -d. -f1; }

# check DESCRIPTION COMMAND...: one TAP line; the output of a failing
# COMMAND becomes its diagnostics.
check() {
	desc=$1
	shift
	say "checking: $desc"
	if "$@" >"$S/out" 2>&1; then
		tap "ok - $desc"
		return 0
	fi
	tap "not ok - $desc"
	sed 's/^/# /' "$S/out" | head -n 60 >&3
	return 1
}

# Paths whose names (not contents) are compared before the install and
# after the purge: everything on the root filesystem but what changes by
# itself (logs, caches, apt's and dpkg's and systemd's state, our own).
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o \
		-path /tmp -o -path /var/tmp -o -path /var/log -o -path /var/cache -o \
		-path /var/lib/apt -o -path /var/lib/dpkg -o -path /var/lib/systemd -o \
		-path /var/lib/ucf -o -path "$S" \) -prune -o -print | LC_ALL=C sort >"$1"
}

dkms_installed() { # dkms_installed RELEASE
	dkms status -m msharefs -v "$VERSION" -k "$1" | tee /dev/stderr | grep -q ': installed'
}

module_for() { # module_for RELEASE: the module DKMS installed, its version and vermagic right
	f=$(find "/lib/modules/$1/updates" -name 'msharefs.ko*' 2>/dev/null | head -n 1)
	[ -n "$f" ] || { echo "no msharefs.ko* under /lib/modules/$1/updates"; return 1; }
	v=$(modinfo -F version "$f") vm=$(modinfo -F vermagic "$f")
	echo "$f: version $v, vermagic $vm"
	[ "$v" = "$VERSION" ] && [ "${vm%% *}" = "$1" ]
}

# dkms_secs RELEASE: how long DKMS's build for RELEASE took (its make.log:
# the date it starts with, to its last write).
dkms_secs() {
	l=/var/lib/dkms/msharefs/$VERSION/$1/x86_64/log/make.log
	[ -f "$l" ] || { echo "?"; return; }
	start=$(date -d "$(sed -n 2p "$l")" +%s 2>/dev/null) || { echo "?"; return; }
	echo $(($(stat -c %Y "$l") - start))
}

mounted_by_unit() {
	systemctl is-active "$UNIT" &&
		[ "$(findmnt -n -o FSTYPE "$MNT")" = msharefs ] &&
		systemctl status --no-pager "$UNIT"
}

phase_install() {
	check "booted Debian 12 ($(cat /etc/debian_version)) on $R61 with systemd as PID 1" \
		sh -c "[ \"\$(uname -r)\" = $R61 ] && [ \"\$(cat /proc/1/comm)\" = systemd ] && grep -q '^12[.]' /etc/debian_version"
	snapshot "$S/before.files"
	dpkg-query -W -f '${Package}\n' | LC_ALL=C sort >"$S/before.pkgs"

	say "apt-get install $(cd "$P/debs" && echo *.deb)"
	t0=$(now)
	check "apt-get install (offline) $PKGS" \
		apt-get install -y --no-install-recommends "$P"/debs/*.deb
	timing "apt install of the packages, with the DKMS build for $R61" $(($(now) - t0))
	timing "  of which the DKMS build for $R61 (make.log)" "$(dkms_secs "$R61")"
	check "dkms: msharefs/$VERSION installed for the running kernel $R61" dkms_installed "$R61"
	check "the module for $R61: version $VERSION, vermagic $R61" module_for "$R61"
	check "the module has MODULE_ALIAS_FS (alias fs-msharefs)" \
		sh -c 'modinfo -F alias msharefs | tee /dev/stderr | grep -qx fs-msharefs'
	check "$UNIT is enabled" sh -c "systemctl is-enabled $UNIT | tee /dev/stderr | grep -qx enabled"
	check "the package started $UNIT: msharefs is mounted on $MNT" mounted_by_unit
	check "mshare --version says $VERSION" sh -c "mshare --version | tee /dev/stderr | grep -q ' $VERSION\$'"
	echo reboot >"$S/phase"
	tap "# mshare-install: reboot"
	sync
	systemctl reboot
}

readme_example() {
	rm -rf /tmp/example && mkdir /tmp/example && cd /tmp/example || return 1
	cp "$P/app.c" . || return 1
	echo "+ $(cat "$P/build.sh")"
	sh "$P/build.sh" || return 1
	./a.out || { echo "a.out: exit status $?"; return 1; }
	mshare ls
	mshare stat --bytes cache | tee stat.out
	grep -Eq '^size:[[:space:]]+67108864$' stat.out || { echo "region cache is not 64 MiB"; return 1; }
	mshare rm cache
}

dropin() {
	mkdir -p "/etc/systemd/system/$UNIT.d"
	printf '[Mount]\nOptions=nosuid,nodev,nr_regions=8,mode=1770\n' >"/etc/systemd/system/$UNIT.d/options.conf"
	systemctl daemon-reload && systemctl restart "$UNIT" || return 1
	o=$(findmnt -n -o OPTIONS "$MNT") || return 1
	echo "options: $o"
	case ,$o, in *,nr_regions=8,*mode=1770,*) ;; *) echo "the drop-in's options are not in effect"; return 1 ;; esac
	[ "$(stat -c %a "$MNT")" = 1770 ] || { echo "mode of $MNT: $(stat -c %a "$MNT")"; return 1; }
	mshare info >/dev/null || return 1
	# reload remounts: nr_regions= changes at once (msharefs(7)).
	printf '[Mount]\nOptions=nosuid,nodev,nr_regions=16,mode=1770\n' >"/etc/systemd/system/$UNIT.d/options.conf"
	systemctl daemon-reload && systemctl reload "$UNIT" || return 1
	o=$(findmnt -n -o OPTIONS "$MNT") || return 1
	echo "options after systemctl reload: $o"
	case ,$o, in *,nr_regions=16,*) ;; *) echo "reload did not remount with nr_regions=16"; return 1 ;; esac
	rm -r "/etc/systemd/system/$UNIT.d"
	systemctl daemon-reload && systemctl restart "$UNIT" || return 1
	o=$(findmnt -n -o OPTIONS "$MNT") || return 1
	echo "options without the drop-in: $o"
	case ,$o, in *,nr_regions=*) echo "nr_regions= is still there"; return 1 ;; esac
}

autoload() {
	systemctl stop "$UNIT" || return 1
	rmmod msharefs || return 1
	grep -qw msharefs /proc/filesystems && { echo "msharefs still registered after rmmod"; return 1; }
	mkdir -p /tmp/m
	mount -t msharefs none /tmp/m || return 1
	grep -w msharefs /proc/modules || { echo "mount worked but msharefs is not loaded?"; return 1; }
	umount /tmp/m
	rmmod msharefs || return 1
	systemctl start "$UNIT" || return 1
	mounted_by_unit
}

# mshare run (the preload shim, libmshare-preload.so, in package mshare): a
# program that maps 64 MiB of anonymous shared memory must get a region
# that `mshare info` counts.
mshare_run() {
	cat >/tmp/shm-user.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
int main(void)
{
	size_t len = 64 << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	memset(p, 1, len);
	fflush(stdout);
	return system("mshare info --bytes") ? 1 : 0;
}
EOF
	cc -o /tmp/shm-user /tmp/shm-user.c || return 1
	mshare run -- /tmp/shm-user | tee /tmp/shm-user.out || return 1
	grep -Eq '^regions:[[:space:]]+[1-9]' /tmp/shm-user.out || { echo "no region while the program ran under mshare run"; return 1; }
}

purge() {
	rm -rf "/etc/systemd/system/$UNIT.d"
	t0=$(now)
	# shellcheck disable=SC2086 # one word per package
	apt-get purge -y $PKGS || return 1
	timing "apt purge" $(($(now) - t0))
}

nothing_left() {
	rc=0
	for p in $PKGS; do
		s=$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null)
		[ -z "$s" ] || [ "$s" = not-installed ] || { echo "$p: dpkg status $s"; rc=1; }
	done
	for k in "$R61" "$R612"; do
		modinfo -k "$k" msharefs >/dev/null 2>&1 && { echo "modinfo -k $k msharefs still finds a module"; rc=1; }
	done
	if systemctl cat "$UNIT" >/dev/null 2>&1; then echo "systemd still knows $UNIT"; rc=1; fi
	findmnt "$MNT" && { echo "$MNT is still mounted"; rc=1; }
	# Every path: new ones must belong to the packages installed since
	# (the 6.12 headers) or be DKMS's own signing key (made by the first
	# build, kept for every DKMS module); none may have gone.
	snapshot "$S/after.files"
	dpkg-query -W -f '${Package}\n' | LC_ALL=C sort >"$S/after.pkgs"
	# dpkg lists /lib/..., find sees /usr/lib/... (merged /usr).
	for p in $(LC_ALL=C comm -13 "$S/before.pkgs" "$S/after.pkgs"); do dpkg -L "$p"; done |
		sed 's#^/\(bin\|sbin\|lib\|lib32\|lib64\|libx32\)/#/usr/\1/#' | LC_ALL=C sort -u >"$S/owned.files"
	LC_ALL=C comm -13 "$S/before.files" "$S/after.files" | LC_ALL=C comm -23 - "$S/owned.files" |
		grep -v -x -e /var/lib/dkms/mok.key -e /var/lib/dkms/mok.pub >"$S/new.files"
	LC_ALL=C comm -23 "$S/before.files" "$S/after.files" >"$S/gone.files"
	[ -s "$S/new.files" ] && { echo "new paths no package owns:"; head -n 40 "$S/new.files"; rc=1; }
	grep -i mshare "$S/new.files" >/dev/null && echo "(some of them are ours)"
	[ -s "$S/gone.files" ] && { echo "paths that were there before the install and are gone:"; head -n 40 "$S/gone.files"; rc=1; }
	echo "packages installed since: $(LC_ALL=C comm -13 "$S/before.pkgs" "$S/after.pkgs" | tr '\n' ' ')"
	return $rc
}

phase_reboot() {
	tap "# timing: boot to the test (kernel + systemd, /proc/uptime): $(now) s"
	check "after the reboot, $UNIT mounted msharefs on $MNT" mounted_by_unit
	check "mshare info works, module version $VERSION" \
		sh -c "mshare info | tee /dev/stderr | grep -Eq '^module_version:[[:space:]]+$VERSION\$'"
	check "the README example builds with pkg-config and runs" readme_example
	check "mount options from a drop-in ($UNIT.d/options.conf), restart and reload" dropin
	check "the module autoloads on mount -t msharefs (MODULE_ALIAS_FS)" autoload
	check "mshare run: a program's shared anonymous memory becomes a region" mshare_run

	say "apt-get install linux-headers-$R612"
	t0=$(now)
	check "apt-get install (offline) linux-headers-$R612" \
		apt-get install -y --no-install-recommends "linux-headers-$R612"
	timing "apt install of the $R612 headers, with the DKMS build for it" $(($(now) - t0))
	timing "  of which the DKMS build for $R612 (make.log)" "$(dkms_secs "$R612")"
	check "dkms: msharefs/$VERSION installed for $R612" dkms_installed "$R612"
	check "the module for $R612: version $VERSION, vermagic $R612" module_for "$R612"

	check "apt purge $PKGS" purge
	check "apt purge left no module, unit or file behind" nothing_left
	check "the module, still loaded from before, unloads" rmmod msharefs
	echo finished >"$S/phase"
	tap "# mshare-install: done"
	sync
	systemctl poweroff
}

phase=$(cat "$S/phase" 2>/dev/null || echo install)
say "phase $phase"
case $phase in
install) phase_install ;;
reboot) phase_reboot ;;
*) tap "not ok - phase $phase: nothing left to do (a boot too many)"; systemctl poweroff ;;
esac
