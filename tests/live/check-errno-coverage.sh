#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# check-errno-coverage.sh MANPAGE COVERAGE TESTSDIR
#
# Every row of the ERRORS section of MANPAGE (man/msharefs.7) must be
# triggered by a live test:
#
# - each row (".TP") of the section carries a tag in the roff comment line
#   just before it: '.\" errno: TAG'; the tag is CALL-ERRNO[-WHAT] and names
#   the errno (or signal) of the row's first line (".B EINVAL");
# - COVERAGE (tests/live/errno-coverage.txt) maps tags to tests, one
#   "TAG FILE:FUNCTION SYMBOL" per line ('#' starts a comment): FILE is a
#   live test, TESTSDIR/live/live-TOPIC.c with TOPIC in live_topics of
#   TESTSDIR/live/meson.build, or TESTSDIR/stress/live-stress-TOPIC.c with
#   TOPIC in stress_topics of TESTSDIR/stress/meson.build; FUNCTION is
#   defined in it (at the start of a line, body up to the next "}" line);
#   and SYMBOL (the errno or signal, e.g. EINVAL) appears in that body.
#
# Fails (listing every problem) if a row has no tag, a tag is repeated or
# does not name its row's errno, a tag has no line in COVERAGE, or a line
# names a tag, file, function or symbol that does not exist.  On success it
# prints the table.  The unit suite runs it, and once with COVERAGE
# /dev/null, which must fail.
set -u

man=$1
cov=$2
tests=$3
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

err() {
	echo "check-errno-coverage: $*" >&2
	fail=1
}

[ -r "$man" ] || { err "no man page $man"; exit 1; }
[ -r "$cov" ] || { err "no coverage table $cov"; exit 1; }

# ---- the tagged rows of the ERRORS section: "LINE TAG ERRNO" ----
awk '
	/^\.SH / { in_errors = ($2 == "ERRORS") ; next }
	!in_errors { prev = $0; next }
	/^\.TP/ {
		tag = ""
		if (prev ~ /^\.\\" errno: /) {
			tag = prev
			sub(/^\.\\" errno: */, "", tag)
			sub(/[ \t]+$/, "", tag)
		}
		want_errno = NR
		row_line = NR
		row_tag = tag
		prev = $0
		next
	}
	want_errno == NR - 1 {
		e = $0
		sub(/^\.B[R]? */, "", e)
		sub(/[ \t].*$/, "", e)
		print row_line, (row_tag == "" ? "-" : row_tag), e
	}
	{ prev = $0 }
' "$man" >"$tmp/rows"

if [ ! -s "$tmp/rows" ]; then
	err "$man: no rows in an ERRORS section"
	exit 1
fi

while read -r line tag errno; do
	if [ "$tag" = - ]; then
		err "$man:$line: the row for $errno has no '.\\\" errno: TAG' line before its .TP"
		continue
	fi
	case "-$tag-" in
	*-"$errno"-*) ;;
	*) err "$man:$line: tag $tag does not name the row's $errno" ;;
	esac
	echo "$tag" >>"$tmp/tags"
done <"$tmp/rows"
touch "$tmp/tags"
sort "$tmp/tags" | uniq -d | while read -r t; do
	echo "$t"
done >"$tmp/dups"
while read -r t; do
	err "$man: tag $t is used by more than one row"
done <"$tmp/dups"

# ---- topics registered with meson ----
topics() {	# FILE LISTNAME: the quoted names in "LISTNAME = [ ... ]"
	awk -v list="$2" '
		$0 ~ "^" list " *= *\\[" { on = 1; next }
		on && /^\]/ { on = 0 }
		on {
			line = $0
			sub(/#.*/, "", line)
			while (match(line, /'\''[^'\'']+'\''/)) {
				print substr(line, RSTART + 1, RLENGTH - 2)
				line = substr(line, RSTART + RLENGTH)
			}
		}
	' "$1"
}
topics "$tests/live/meson.build" live_topics | sed 's/^/live-/' >"$tmp/registered"
if [ -r "$tests/stress/meson.build" ]; then
	topics "$tests/stress/meson.build" stress_topics | sed 's/^/live-stress-/' >>"$tmp/registered"
fi

# ---- the coverage table ----
# body FILE FUNCTION: the lines of FUNCTION's definition in FILE
body() {
	awk -v fn="$2" '
		!on && $0 ~ "^[A-Za-z_].*[^A-Za-z0-9_]" fn "\\(" && $0 !~ /;[ \t]*$/ { on = 1 }
		on { print }
		on && /^}/ { exit }
	' "$1"
}

: >"$tmp/covered"
n=0
while read -r tag where symbol rest; do
	n=$((n + 1))
	case $tag in '' | \#*) continue ;; esac
	if [ -z "${symbol:-}" ] || [ -n "${rest:-}" ]; then
		err "$cov:$n: want 'TAG FILE:FUNCTION SYMBOL', got: $tag $where ${symbol:-} ${rest:-}"
		continue
	fi
	if ! grep -qx "$tag" "$tmp/tags"; then
		err "$cov:$n: tag $tag is not a row of $man"
		continue
	fi
	file=${where%%:*}
	fn=${where#*:}
	if [ "$file" = "$where" ] || [ -z "$fn" ]; then
		err "$cov:$n: want FILE:FUNCTION, got $where"
		continue
	fi
	case $file in
	live-stress-*.c) path=$tests/stress/$file ;;
	live-*.c) path=$tests/live/$file ;;
	*) err "$cov:$n: $file is not a live test (live-*.c)"; continue ;;
	esac
	if [ ! -r "$path" ]; then
		err "$cov:$n: no file $path"
		continue
	fi
	if ! grep -qx "${file%.c}" "$tmp/registered"; then
		err "$cov:$n: ${file%.c} is not in the meson topic lists: it never runs"
		continue
	fi
	body "$path" "$fn" >"$tmp/body"
	if [ ! -s "$tmp/body" ]; then
		err "$cov:$n: no function $fn in $file"
		continue
	fi
	if ! grep -qw -- "$symbol" "$tmp/body"; then
		err "$cov:$n: $symbol does not appear in $file:$fn"
		continue
	fi
	case "-$tag-" in
	*-"$symbol"-*) ;;
	*) err "$cov:$n: symbol $symbol is not the errno of tag $tag" ;;
	esac
	printf '%s %s\n' "$tag" "$where" >>"$tmp/covered"
done <"$cov"

# ---- every row covered ----
uncovered=0
while read -r line tag errno; do
	[ "$tag" = - ] && continue
	if ! awk -v t="$tag" '$1 == t { found = 1 } END { exit !found }' "$tmp/covered"; then
		err "$man:$line: row $tag has no live test in $cov"
		uncovered=$((uncovered + 1))
	fi
done <"$tmp/rows"

rows=$(wc -l <"$tmp/rows")
if [ $fail = 0 ]; then
	echo "errno coverage: all $rows rows of $man are triggered by a live test"
	awk '{ t[$1] = t[$1] (t[$1] == "" ? "" : ", ") $2; if (!($1 in o)) { o[$1] = ++n; k[n] = $1 } }
	     END { for (i = 1; i <= n; i++) printf "  %-28s %s\n", k[i], t[k[i]] }' "$tmp/covered"
	exit 0
fi
echo "errno coverage: FAILED ($rows rows, $uncovered without a live test)" >&2
exit 1
