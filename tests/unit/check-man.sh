#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-man.sh SYMFILE MANDIR PAGE...
#
# Fails unless every global symbol of the version script SYMFILE has
# MANDIR/<symbol>.3 among the PAGEs, every PAGE (the list man/meson.build
# installs) exists in MANDIR, every ".so" alias points to an existing page,
# and every real man3 page has the mandatory sections.
set -u

sym=$1
mandir=$2
shift 2
fail=0

err() {
	echo "check-man: $*" >&2
	fail=1
}

listed() {
	for p in $pages; do
		[ "$p" = "$1" ] && return 0
	done
	return 1
}

pages="$*"
[ -n "$pages" ] || err "no man pages listed"

symbols=$(awk -f "$(dirname "$0")/symbols.awk" "$sym" | cut -d' ' -f1) ||
	err "cannot parse $sym"
[ -n "$symbols" ] || err "no global symbols in $sym"

for s in $symbols; do
	[ -f "$mandir/$s.3" ] || err "$s: no $mandir/$s.3"
	listed "$s.3" || err "$s: $s.3 is not installed by man/meson.build"
done

for p in $pages; do
	f=$mandir/$p
	if [ ! -f "$f" ]; then
		err "$p: listed but missing"
		continue
	fi
	target=$(sed -n 's/^\.so[[:space:]]\{1,\}//p' "$f" | head -n 1)
	if [ -n "$target" ]; then
		[ -f "$mandir/$(basename "$target")" ] ||
			err "$p: .so target $target missing"
		continue
	fi
	case $p in
	*.3)
		for sec in NAME LIBRARY SYNOPSIS DESCRIPTION "RETURN VALUE" \
			   ERRORS "SEE ALSO"; do
			grep -q "^\.SH \"\{0,1\}$sec\"\{0,1\}[[:space:]]*$" "$f" ||
				err "$p: no $sec section"
		done
		;;
	esac
done

[ $fail -eq 0 ] && echo "check-man: $(echo "$symbols" | wc -l) symbols," \
	"$# pages: ok"
exit $fail
