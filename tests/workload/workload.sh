#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The workload suite, inside the VM (tests/workload/run-workload.sh boots
# it with run-vm.sh --run): Debian's PostgreSQL 15 and PHP-FPM 8.2, each
# run plainly and under `mshare run` in the same boot, measured alike.
#
# stdout: TAP result lines ("ok - ..." / "not ok - ...", numbered by the
# wrapper) and measurements, "# M PART RUN KEY VALUE" (bench/workload.sh
# makes the tables of bench/RESULTS.md from them); progress on stderr.
#
# Knobs (run-vm.sh --env): WL_PARTS ("pg php"), WL_SHARED_BUFFERS (MiB,
# 1024), WL_STORM (new connections, 64), WL_CLIENTS (pgbench clients,
# "8 64"), WL_SECONDS (per pgbench run, 10), WL_SCALE (pgbench -i -s, 10),
# WL_PHP_WORKERS (16), WL_PHP_FILES (PHP files of 5000 array entries in the
# opcache, 24), WL_PHP_REQUESTS (for requests/s, 64), WL_ROUNDS (plain and
# shim runs alternate this many times, for numbers on a noisy host; 1).
set -u
export TZ=UTC LANG=C LC_ALL=C
export MSHARE_PRELOAD_LIB=/opt/mshare/bin/libmshare-preload.so
PG=/usr/lib/postgresql/15/bin
FPM=/usr/sbin/php-fpm8.2
PARTS=${WL_PARTS:-pg php}
SB=${WL_SHARED_BUFFERS:-1024}
STORM=${WL_STORM:-64}
CLIENTS=${WL_CLIENTS:-8 64}
SECONDS_=${WL_SECONDS:-10}
SCALE=${WL_SCALE:-10}
WORKERS=${WL_PHP_WORKERS:-16}
PHPFILES=${WL_PHP_FILES:-24}
PHPREQ=${WL_PHP_REQUESTS:-64}
ROUNDS=${WL_ROUNDS:-1}
W=/tmp/wl
PGUID=70

log() { echo "workload: $*" >&2; }
ok() { echo "ok - $*"; log "ok - $*"; }
nok() { echo "not ok - $*"; log "not ok - $*"; }
check() { # check DESCRIPTION COMMAND...
	d=$1
	shift
	if "$@"; then ok "$d"; else nok "$d"; fi
}
measure() { echo "# M $*"; log "M $*"; }
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
meminfo_kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
# Settled PageTables: after an RCU grace period, two readings agree.
pagetables_kb() {
	prev=
	for _ in 1 2 3 4 5 6; do
		echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null
		cur=$(meminfo_kb PageTables)
		[ "$cur" = "$prev" ] && break
		prev=$cur
		sleep 0.3
	done
	echo "$cur"
}
# Regions of the mount, one line each (mshare ls --bytes without its
# header): rows without a name read "(unlinked #INO) SIZE MODE OWNER
# ATTACH RSS PT-SAVED", so their size is field 3 and attachers field 6.
regions() { mshare ls --bytes | tail -n +2; }
no_regions() { [ -z "$(regions)" ]; }

mkdir -p $W
grep -q '^postgres:' /etc/passwd || echo "postgres:x:$PGUID:$PGUID:PostgreSQL:$W/pg:/bin/sh" >>/etc/passwd
grep -q '^postgres:' /etc/group || echo "postgres:x:$PGUID:" >>/etc/group

# ---------------------------------------------------------------- PostgreSQL

D=$W/pg/data
SOCK=$W/pg
as_pg() { mshare-runas $PGUID $PGUID "$@"; }
psql_() { $PG/psql -h $SOCK -U postgres -X -q -t -A -v ON_ERROR_STOP=1 "$@" postgres; }
pgbench_() { $PG/pgbench -h $SOCK -U postgres "$@" postgres; }
# pg_start RUN: plain, or shim (under mshare run).
pg_start() {
	if [ "$1" = shim ]; then
		as_pg mshare run -- $PG/postgres -D $D >>$W/pg/log.$1 2>&1 &
	else
		as_pg $PG/postgres -D $D >>$W/pg/log.$1 2>&1 &
	fi
	for _ in $(seq 300); do
		$PG/pg_isready -q -h $SOCK && return 0
		sleep 0.2
	done
	tail -n 20 $W/pg/log.$1 >&2
	return 1
}

pg_stop() {
	pm=$(head -n 1 $D/postmaster.pid 2>/dev/null) || return 0
	kill -INT "$pm"
	for _ in $(seq 300); do
		[ -e $D/postmaster.pid ] || return 0
		sleep 0.2
	done
	log "postgres did not stop"
	return 1
}

no_postgres() {
	for _ in $(seq 150); do
		pidof postgres >/dev/null || return 0
		sleep 0.2
	done
	return 1
}

pg_setup() {
	mkdir -p $W/pg && chown $PGUID:$PGUID $W/pg
	t=$(now_ms)
	as_pg $PG/initdb -D $D --locale=C -E UTF8 -A trust -N >$W/pg/initdb.log 2>&1 ||
		{ tail -n 20 $W/pg/initdb.log >&2; return 1; }
	cat >>$D/postgresql.conf <<EOF
shared_buffers = ${SB}MB
max_connections = $((STORM + 40))
listen_addresses = ''
unix_socket_directories = '$SOCK'
huge_pages = try
jit = off
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 4GB
checkpoint_timeout = 1h
autovacuum = off
EOF
	log "initdb: $(($(now_ms) - t)) ms"
	pg_start plain || return 1
	t=$(now_ms)
	# One row per page (fillfactor 10): scanning the table reads 85% of
	# shared_buffers, all of it once pg_prewarm put the table there.
	rows=$((SB * 128 * 85 / 100))
	psql_ -c "CREATE UNLOGGED TABLE t (id int, pad char(420)) WITH (fillfactor = 10)" \
		-c "INSERT INTO t SELECT g, 'x' FROM generate_series(1, $rows) g" \
		-c "VACUUM t" \
		-c "CREATE EXTENSION pg_prewarm" -c "CREATE EXTENSION amcheck" \
		-c "CREATE UNLOGGED TABLE wl_stats (run text, pid int, t0 float8, t1 float8, pte0 int, pte1 int, flt0 bigint, flt1 bigint)" \
		-c "CREATE UNLOGGED TABLE wl_go (go int)" >/dev/null || return 1
	log "table t ($rows rows, $(psql_ -c "SELECT pg_size_pretty(pg_relation_size('t'))")): $(($(now_ms) - t)) ms"
	t=$(now_ms)
	pgbench_ -i -s "$SCALE" -q >$W/pg/init.log 2>&1 || { tail $W/pg/init.log >&2; return 1; }
	log "pgbench -i -s $SCALE: $(($(now_ms) - t)) ms"
	pg_stop
}

# The storm: STORM new connections at once, each reading all of t, then
# waiting (with every other) until the measurements are taken.
STAT_SQL="(SELECT split_part(pg_read_file('/proc/uptime'), ' ', 1)::float8), \
(regexp_match(pg_read_file('/proc/self/status'), 'VmPTE:\\s+(\\d+)'))[1]::int, \
split_part(pg_read_file('/proc/self/stat'), ' ', 10)::bigint"

pg_storm() { # pg_storm RUN
	run=$1
	cat >$W/pg/touch.sql <<EOF
INSERT INTO wl_stats (run, pid, t0, pte0, flt0) SELECT '$run', pg_backend_pid(), $STAT_SQL;
SELECT count(*) FROM t;
UPDATE wl_stats SET (t1, pte1, flt1) = (SELECT $STAT_SQL) WHERE run = '$run' AND pid = pg_backend_pid();
DO \$\$ BEGIN WHILE NOT EXISTS (SELECT 1 FROM wl_go) LOOP PERFORM pg_sleep(0.2); END LOOP; END \$\$;
EOF
	psql_ -c "TRUNCATE wl_go" -c "TRUNCATE wl_stats" \
		-c "SELECT pg_prewarm('t')" >/dev/null || return 1
	pt0=$(pagetables_kb)
	start=$(awk '{ print $1 }' /proc/uptime)
	pgbench_ -n -f $W/pg/touch.sql -c "$STORM" -j 2 -t 1 --verbose-errors >$W/pg/storm.$run 2>&1 &
	bpid=$!
	done_=0
	for _ in $(seq 3000); do
		done_=$(psql_ -c "SELECT count(*) FROM wl_stats WHERE run = '$run' AND t1 IS NOT NULL")
		[ "$done_" -ge "$STORM" ] && break
		sleep 0.2
	done
	pt1=$(pagetables_kb)
	psql_ -c "INSERT INTO wl_go VALUES (1)"
	wait $bpid
	rc=$?
	check "postgres $run: $STORM connections read shared_buffers (pgbench exit $rc)" \
		[ "$done_" -ge "$STORM" -a $rc = 0 ]
	check "postgres $run: no failed storm transaction" \
		grep -q 'number of failed transactions: 0 ' $W/pg/storm.$run
	psql_ -F ' ' -c "SELECT round(((max(t1) - $start) * 1000)::numeric),
		round(avg(flt1 - flt0)), round(avg(pte1)), round(avg(pte1 - pte0)),
		round(avg(t1 - t0) * 1000) FROM wl_stats WHERE run = '$run'" >$W/pg/st.$run
	read -r wall flt pte ptedelta scan <$W/pg/st.$run
	measure pg "$run" storm_ms "$wall"
	measure pg "$run" storm_scan_ms "$scan"
	measure pg "$run" backend_minflt "$flt"
	measure pg "$run" backend_vmpte_kb "$pte"
	measure pg "$run" backend_vmpte_scan_kb "$ptedelta"
	measure pg "$run" pagetables_kb "$((pt1 - pt0))"
	measure pg "$run" backends "$STORM"
}

# One connection reads t twice: cold (its page tables to build), then
# warm (nothing to build: the floor of any page-table scheme).
pg_scans() { # pg_scans RUN
	run=$1
	for i in 1 2 3; do
		psql_ -c '\timing on' -c "SELECT count(*) FROM t" \
			-c "SELECT count(*) FROM t" 2>&1 |
			sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' >$W/pg/scans.$run
		set -- $(cat $W/pg/scans.$run)
		[ $# = 2 ] || continue
		measure pg "$run" scan_cold_ms "$1"
		measure pg "$run" scan_warm_ms "$2"
	done
}

pg_bench() { # pg_bench RUN
	run=$1
	for mode in select tpcb; do
		for c in $CLIENTS; do
			opt=
			[ $mode = select ] && opt=-S
			pgbench_ -n $opt -c "$c" -j 2 -T "$SECONDS_" --verbose-errors \
				>$W/pg/bench.$run.$mode.$c 2>&1
			rc=$?
			tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' $W/pg/bench.$run.$mode.$c)
			check "postgres $run: pgbench $mode $c clients, no error" \
				[ $rc = 0 -a -n "$tps" ]
			grep -q 'number of failed transactions: 0 ' $W/pg/bench.$run.$mode.$c ||
				nok "postgres $run: pgbench $mode $c clients: failed transactions"
			measure pg "$run" "tps_${mode}_$c" "${tps:-0}"
		done
	done
}

# The region of the shared memory while postgres runs (shim), none (plain).
pg_region() { # pg_region RUN
	if [ "$1" = plain ]; then
		check "postgres plain: no region" no_regions
		return
	fi
	r=$(regions | grep '^(unlinked')
	n=$(echo "$r" | grep -c .)
	size=$(echo "$r" | awk '{ print $3 }')
	check "postgres shim: its shared memory is one region without a name ($n, $size bytes)" \
		[ "$n" = 1 -a "${size:-0}" -ge $((SB * 1024 * 1024)) ]
}

pg_crash() {
	# A backend killed: the postmaster re-creates shared memory.
	psql_ -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
	spid=$!
	bpid=
	for _ in $(seq 100); do
		bpid=$(psql_ -c "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%' AND pid <> pg_backend_pid()")
		[ -n "$bpid" ] && break
		sleep 0.2
	done
	old=$(regions | awk '/^\(unlinked/ { print $1, $2 }')
	kill -9 "$bpid"
	wait $spid 2>/dev/null
	sleep 1
	ready=1
	for _ in $(seq 300); do
		psql_ -c "SELECT 1" >/dev/null 2>&1 && { ready=0; break; }
		sleep 0.2
	done
	check "postgres shim: crash-restart after a backend's kill -9" [ $ready = 0 ]
	new=$(regions | awk '/^\(unlinked/ { print $1, $2 }')
	check "postgres shim: a new region replaced the old one ($old -> $new)" \
		[ "$(echo "$new" | grep -c .)" = 1 -a "$new" != "$old" ]
	pgbench_ -n -S -c 4 -j 2 -t 200 --verbose-errors >$W/pg/after-crash 2>&1
	check "postgres shim: pgbench after the crash-restart" \
		grep -q 'number of failed transactions: 0 ' $W/pg/after-crash

	# The postmaster killed: everything goes, and a restart works.
	kill -9 "$(head -n 1 $D/postmaster.pid)"
	check "postgres shim: every process gone after the postmaster's kill -9" no_postgres
	check "postgres shim: no region left after the postmaster's kill -9" no_regions
	pg_start shim
	check "postgres shim: restart after the postmaster's kill -9" \
		psql_ -c "SELECT count(*) FROM pgbench_branches"
	pg_region shim
}

pg_part() {
	if ! pg_setup; then
		nok "postgres: initdb, data (see stderr)"
		return
	fi
	ok "postgres: initdb, $SB MiB shared_buffers, data"
	measure pg setup shared_buffers_mib "$SB"
	round=1
	while [ $round -le "$ROUNDS" ]; do
		for run in plain shim; do
			if ! pg_start $run; then
				nok "postgres $run: start"
				continue
			fi
			ok "postgres $run: start"
			pg_region $run
			pg_storm $run
			pg_scans $run
			pg_bench $run
			if [ $run = shim ] && [ $round = "$ROUNDS" ]; then
				t=$(now_ms)
				check "postgres shim: pg_amcheck clean" \
					as_pg $PG/pg_amcheck -h $SOCK -U postgres \
					--heapallindexed postgres
				log "pg_amcheck: $(($(now_ms) - t)) ms"
				pg_crash
			fi
			pg_stop
			check "postgres $run: stopped" no_postgres
			check "postgres $run: no region left" no_regions
		done
		round=$((round + 1))
	done
	grep -h mshare-preload $W/pg/log.shim | head -n 5 >&2
}

# ------------------------------------------------------------------- PHP-FPM

P=$W/php

php_setup() {
	mkdir -p $P/app
	cat >$P/php.ini <<EOF
zend_extension=opcache.so
opcache.enable=1
opcache.memory_consumption=256
opcache.interned_strings_buffer=16
opcache.max_accelerated_files=10000
opcache.validate_timestamps=0
opcache.jit=off
EOF
	cat >$P/fpm.conf <<EOF
[global]
error_log = $P/fpm.log
daemonize = no
[www]
listen = $P/fpm.sock
pm = static
pm.max_children = $WORKERS
EOF
	# The application: PHPFILES arrays of 5000 strings each (about 2.5 MB
	# each in the opcache); a request walks all of them.
	f=0
	while [ $f -lt "$PHPFILES" ]; do
		awk -v f=$f 'BEGIN {
			print "<?php"; print "return ["
			for (i = 0; i < 5000; i++)
				printf "  \047key_%d_%d\047 => \047value %d of file %d, and some more text\047,\n", f, i, i, f
			print "];"
		}' >$P/app/data$f.php
		f=$((f + 1))
	done
	cat >$P/app/index.php <<EOF
<?php
\$n = 0; \$sum = 0;
for (\$f = 0; \$f < $PHPFILES; \$f++) {
	\$a = include __DIR__ . "/data\$f.php";
	foreach (\$a as \$k => \$v) { \$n++; \$sum += strlen(\$v); }
}
\$st = opcache_get_status(false);
echo "n=\$n sum=\$sum hit=", \$st['opcache_statistics']['hits'] > 0 ? 1 : 0, "\n";
EOF
}

fpm_req() { # one request; the body on stdout
	SCRIPT_FILENAME=$P/app/index.php REQUEST_METHOD=GET \
		cgi-fcgi -bind -connect $P/fpm.sock 2>/dev/null
}

fpm_start() { # fpm_start RUN
	rm -f $P/fpm.sock
	if [ "$1" = shim ]; then
		mshare run -- $FPM -n -c $P/php.ini -y $P/fpm.conf -R -F >$P/out.$1 2>&1 &
	else
		$FPM -n -c $P/php.ini -y $P/fpm.conf -R -F >$P/out.$1 2>&1 &
	fi
	fpid=$!
	for _ in $(seq 150); do
		[ -S $P/fpm.sock ] && return 0
		sleep 0.2
	done
	cat $P/fpm.log >&2
	return 1
}

fpm_workers() {
	for s in /proc/[0-9]*/stat; do
		awk -v m="$fpid" '$4 == m { print $1 }' "$s" 2>/dev/null
	done
}

# C clients sending N requests in all; the number of right answers.
fpm_batch() { # fpm_batch N C
	rm -f $P/resp.*
	c=0
	while [ $c -lt "$2" ]; do
		(
			i=0
			while [ $i -lt $(($1 / $2)) ]; do
				fpm_req | grep -c "^n=$((PHPFILES * 5000)) " >>$P/resp.$c
				i=$((i + 1))
			done
		) &
		c=$((c + 1))
	done
	wait
	cat $P/resp.* | awk '{ s += $1 } END { print s + 0 }'
}

php_run() { # php_run RUN
	run=$1
	pt0=$(pagetables_kb)
	if ! fpm_start "$run"; then
		nok "php-fpm $run: start"
		return
	fi
	ok "php-fpm $run: start"
	if [ "$run" = shim ]; then
		r=$(regions | grep '^(unlinked')
		n=$(echo "$r" | awk '$3 >= 268435456' | grep -c .)
		a=$(echo "$r" | awk '{ print $6 }')
		check "php-fpm shim: the opcache is one region of 256 MiB ($n), every process attached ($a)" \
			[ "$n" = 1 -a "$a" = $((WORKERS + 1)) ]
	else
		check "php-fpm plain: no region" no_regions
	fi
	# Warm up: every worker serves requests that walk the whole cache.
	good=$(fpm_batch $((WORKERS * 3)) "$WORKERS")
	check "php-fpm $run: $((WORKERS * 3)) warm-up answers right ($good)" [ "$good" = $((WORKERS * 3)) ]
	pte=0 flt=0 nw=0
	for w in $(fpm_workers); do
		p=$(awk '/^VmPTE:/ { print $2 }' /proc/$w/status)
		f=$(awk '{ print $10 }' /proc/$w/stat)
		pte=$((pte + p)) flt=$((flt + f)) nw=$((nw + 1))
	done
	[ $nw -gt 0 ] || nw=1
	measure php "$run" workers "$nw"
	measure php "$run" worker_vmpte_kb $((pte / nw))
	measure php "$run" worker_minflt $((flt / nw))
	measure php "$run" pagetables_kb $(($(pagetables_kb) - pt0))
	t=$(now_ms)
	good=$(fpm_batch "$PHPREQ" 8)
	ms=$(($(now_ms) - t))
	check "php-fpm $run: $PHPREQ answers right ($good)" [ "$good" = "$PHPREQ" ]
	measure php "$run" requests "$PHPREQ"
	measure php "$run" requests_ms "$ms"
	kill -QUIT "$fpid"
	wait "$fpid"
	check "php-fpm $run: stopped, no region left" no_regions
}

php_part() {
	php_setup
	measure php setup files "$PHPFILES"
	round=1
	while [ $round -le "$ROUNDS" ]; do
		php_run plain
		php_run shim
		round=$((round + 1))
	done
	grep -h mshare-preload $P/out.shim | head -n 3 >&2
}

# Sourced by an experiment (WL_SOURCE_ONLY=1): the functions only.
[ -n "${WL_SOURCE_ONLY:-}" ] && return 0

for part in $PARTS; do
	case $part in
	pg) pg_part ;;
	php) php_part ;;
	*) nok "unknown part $part" ;;
	esac
done
check "no region left at the end" no_regions
exit 0
