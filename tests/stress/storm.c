// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Attach/detach/fork/exit storm: procs worker processes each run ops
 * random operations on slots (2-4) region names at once, verifying data
 * after every step.
 *
 * Region layout (each 2 MiB chunk, one 8-byte word per 4 KiB page):
 *   chunk 0 page 0      header: magic, incarnation, size, slot
 *   page 1 + w          worker w's slot word: (seq << 32) | check(inc, w,
 *                       chunk, seq); only worker w (or its fork child)
 *                       writes it, everybody checks it is 0 or
 *                       consistent, and w checks it reads exactly what it
 *                       wrote last (no lost write)
 *   pages 65..511       pattern: a function of the incarnation and of the
 *                       page's offset, written by the region's creator
 *                       before it publishes the header
 * A region is created (slot name, random size 8-32 MiB, fresh incarnation
 * number) by the parent at the start and by workers now and then (unlink
 * + create + fill + publish); workers still attached to the old one keep
 * using it.
 *
 * Operations: attach (open or mcreate, O_RDWR or O_RDONLY; mattach or raw
 * mmap, read-write or read-only), touch+verify one chunk (a word per page),
 * write own slot and read it back through every window of the same
 * incarnation, detach (mdetach or munmap; the range must be gone, and
 * anonymous memory mapped there must read zero), fork a child that
 * verifies, writes the parent's slot and exits / _exits at once / is
 * SIGKILLed while faulting / has its window read through /proc/PID/mem
 * before it touches it / touches and execs, recreate a region, exit (the
 * parent respawns the worker, which goes on with its remaining
 * operations).  A quarter of the windows are also PROT_EXEC, so all four
 * table sets are in use.
 */
#include "stress.h"

#include <fcntl.h>
#include <libmshare.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SMAXW		64
#define SMAXSLOT	4
#define MAXCHUNKS	16		/* 32 MiB */
#define MAXATT		3
#define PAT_FIRST	65		/* first pattern page of a chunk */
#define MAGIC		0x6d73686172655354ULL
#define EXIT_RESPAWN	3
#define EXIT_STOPPED	2
#define USED_LIMIT	(160 * MIB / 4096)	/* no recreate above this */
#define PS		4096UL

struct rhdr {
	_Atomic uint64_t magic;
	uint64_t inc, size, slot;
};

struct wstate {
	_Atomic int ops_done;
	uint64_t rec_inc[SMAXSLOT];		/* incarnation rec_seq is about */
	uint32_t rec_seq[SMAXSLOT][MAXCHUNKS];	/* last seq written, 0 = unknown */
	uint32_t next_seq;
	int generation;				/* respawns of this worker */
};

struct sctl {
	struct stress_ctl c;
	_Atomic uint64_t next_inc;
	_Atomic long attaches, detaches, touches, writes, forks, kills, procmem, execs;
	_Atomic long recreates, respawns, skipped;
	_Atomic long op_n[128], op_us[128];	/* per operation letter: count, CPU us */
	struct wstate w[SMAXW];
};

struct att {
	char *addr;
	size_t size;
	int k;			/* slot */
	uint64_t inc;
	bool rw, x;
	bool via_lib;
	int fd;			/* -1 if closed right after attaching */
};

static struct sctl *sc;
static const struct storm_params *sp;
static int me;				/* worker index */
static struct wstate *ws;
static struct att atts[MAXATT];
static int natt;
static uint64_t rng;

static void slot_name(char *buf, size_t len, int k)
{
	snprintf(buf, len, "stress-storm-%d", k);
}

static uint64_t pat(uint64_t inc, size_t page)
{
	return mix64(inc, page, 0xda7a, 0) | 1;
}

static uint64_t slot_val(uint64_t inc, int w, int c, uint32_t seq)
{
	return ((uint64_t)seq << 32) | (uint32_t)mix64(inc, (uint64_t)w, (uint64_t)c, seq);
}

static uint64_t rd(const char *p)
{
	return *(const volatile uint64_t *)p;
}

#define FAIL(...) sfail(&sc->c, __VA_ARGS__)

static const char *adesc(const struct att *a)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "worker %d: slot %d inc %llu %s%s window %p (%zu MiB, %s)",
		 me, a->k, (unsigned long long)a->inc, a->rw ? "RW" : "RO", a->x ? "X" : "",
		 (void *)a->addr, a->size / MIB, a->via_lib ? "mattach" : "mmap");
	return buf;
}

/* Header of an attachment still what it was. */
static bool check_header(const struct att *a)
{
	const struct rhdr *h = (const struct rhdr *)a->addr;

	if (atomic_load(&h->magic) != MAGIC || h->inc != a->inc ||
	    h->size != a->size || h->slot != (uint64_t)a->k) {
		FAIL("%s: header magic %#llx inc %llu size %llu slot %llu",
		     adesc(a), (unsigned long long)atomic_load(&h->magic),
		     (unsigned long long)h->inc, (unsigned long long)h->size,
		     (unsigned long long)h->slot);
		return false;
	}
	return true;
}

/* Slot word of worker w in chunk c: 0 or consistent; exact if it is ours. */
static bool check_slot(const struct att *a, int w, int c)
{
	uint64_t v = rd(a->addr + (size_t)c * GRANULE + (size_t)(1 + w) * PS);
	uint32_t seq = (uint32_t)(v >> 32);

	if (w == me && ws->rec_inc[a->k] == a->inc && ws->rec_seq[a->k][c]) {
		uint64_t want = slot_val(a->inc, me, c, ws->rec_seq[a->k][c]);

		if (v != want) {
			FAIL("%s: chunk %d own slot reads %#llx, want %#llx (lost write)",
			     adesc(a), c, (unsigned long long)v, (unsigned long long)want);
			return false;
		}
		return true;
	}
	if (v && (!seq || v != slot_val(a->inc, w, c, seq))) {
		FAIL("%s: chunk %d slot of worker %d reads %#llx: not a value it wrote",
		     adesc(a), c, w, (unsigned long long)v);
		return false;
	}
	return true;
}

static bool check_page(const struct att *a, int c, size_t pg)
{
	const char *p = a->addr + (size_t)c * GRANULE + pg * PS;
	uint64_t v = rd(p), want;

	if (pg == 0) {
		if (c == 0)
			return check_header(a);
		want = 0;
	} else if (pg < PAT_FIRST) {
		return check_slot(a, (int)pg - 1, c);
	} else {
		want = pat(a->inc, (size_t)c * 512 + pg);
	}
	if (v != want) {
		FAIL("%s: chunk %d page %zu reads %#llx, want %#llx",
		     adesc(a), c, pg, (unsigned long long)v, (unsigned long long)want);
		return false;
	}
	return true;
}

/* Touch + verify a whole chunk: one word per page. */
static bool verify_chunk(const struct att *a, int c)
{
	for (size_t pg = 0; pg < GRANULE / PS; pg++)
		if (!check_page(a, c, pg))
			return false;
	return true;
}

/* After every step: each attachment's header, own slots, some samples. */
static void verify_step(void)
{
	for (int i = 0; i < natt; i++) {
		const struct att *a = &atts[i];
		int chunks = (int)(a->size / GRANULE);

		if (!check_header(a))
			return;
		for (int c = 0; c < chunks; c++)
			if (!check_slot(a, me, c))
				return;
		for (int j = 0; j < 4; j++)
			if (!check_page(a, (int)rng_below(&rng, (uint64_t)chunks),
					(size_t)rng_below(&rng, 512)))
				return;
	}
}

static int chunks_of(const struct att *a)
{
	return (int)(a->size / GRANULE);
}

/* ---- operations ---- */

/*
 * Anonymous memory mapped where a window was must read zero: a PMD entry
 * still pointing at a region table would show the region's data.
 */
static void check_no_stale_link(const struct att *a)
{
	char *p = mmap(a->addr, a->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED) {
		if (errno != EEXIST)	/* another mapping took the place: fine */
			FAIL("%s: anonymous mmap where it was: %s", adesc(a), strerror(errno));
		return;
	}
	if (p != a->addr) {		/* kernels without MAP_FIXED_NOREPLACE */
		munmap(p, a->size);
		return;
	}
	for (int c = 0; c < chunks_of(a); c++) {
		size_t off = (size_t)c * GRANULE + rng_below(&rng, 512) * PS;
		uint64_t v = rd(p + off);

		if (v) {
			FAIL("%s: anonymous memory mapped after the detach reads %#llx at +%#zx: stale link to a region table",
			     adesc(a), (unsigned long long)v, off);
			break;
		}
		*(volatile uint64_t *)(p + off) = 1;
	}
	munmap(p, a->size);
}

static void drop_att(int i)
{
	struct att *a = &atts[i];
	unsigned char vec;

	if (a->via_lib ? mdetach(a->addr) : munmap(a->addr, a->size))
		FAIL("%s: detach: %s", adesc(a), strerror(errno));
	else if (mincore(a->addr, PS, &vec) != -1 || errno != ENOMEM)
		FAIL("%s: still mapped after detach", adesc(a));
	else if (rng_below(&rng, 2))
		check_no_stale_link(a);
	if (a->fd >= 0)
		close(a->fd);
	atts[i] = atts[--natt];
}

static void op_detach(void)
{
	drop_att((int)rng_below(&rng, (uint64_t)natt));
	atomic_fetch_add(&sc->detaches, 1);
}

static void op_attach(void)
{
	bool rw = rng_below(&rng, 3) != 0, lib = rng_below(&rng, 4) == 0;
	int k = (int)rng_below(&rng, (uint64_t)sp->slots);
	int prot = (rw ? PROT_READ | PROT_WRITE : PROT_READ) |
		   (rng_below(&rng, 4) == 0 ? PROT_EXEC : 0);	/* all four table sets */
	struct att *a = &atts[natt];
	struct stat st;
	char name[64];
	void *p;
	int fd;

	slot_name(name, sizeof(name), k);
	if (rng_below(&rng, 2))
		fd = mcreate(name, rw ? O_RDWR : O_RDONLY, 0);
	else
		fd = open(mpath(name), (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)	/* between unlink and create of a recreate */
			FAIL("worker %d: open %s: %s", me, name, strerror(errno));
		atomic_fetch_add(&sc->skipped, 1);
		return;
	}
	if (fstat(fd, &st)) {
		FAIL("worker %d: fstat %s: %s", me, name, strerror(errno));
		close(fd);
		return;
	}
	if (st.st_size == 0) {		/* its creator has not sized it yet */
		close(fd);
		atomic_fetch_add(&sc->skipped, 1);
		return;
	}
	if (lib)
		p = mattach(fd, NULL, prot, 0);
	else
		p = mmap(NULL, (size_t)st.st_size, prot, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		FAIL("worker %d: %s %s (%lld bytes, %s): %s", me, lib ? "mattach" : "mmap",
		     name, (long long)st.st_size, rw ? "RW" : "RO", strerror(errno));
		close(fd);
		return;
	}
	*a = (struct att){ .addr = p, .size = (size_t)st.st_size, .k = k,
			   .rw = rw, .x = !!(prot & PROT_EXEC), .via_lib = lib, .fd = fd };
	natt++;
	if ((uintptr_t)p & (GRANULE - 1))
		FAIL("%s: not 2 MiB aligned", adesc(a));
	if (atomic_load(&((struct rhdr *)p)->magic) != MAGIC) {
		/* its creator is still filling it: not ready, let go */
		drop_att(natt - 1);
		atomic_fetch_add(&sc->skipped, 1);
		return;
	}
	a->inc = ((struct rhdr *)p)->inc;
	if (rng_below(&rng, 2)) {
		close(a->fd);
		a->fd = -1;
	}
	check_header(a);
	verify_chunk(a, (int)rng_below(&rng, (uint64_t)chunks_of(a)));
	atomic_fetch_add(&sc->attaches, 1);
}

static void op_touch(void)
{
	const struct att *a = &atts[rng_below(&rng, (uint64_t)natt)];

	verify_chunk(a, (int)rng_below(&rng, (uint64_t)chunks_of(a)));
	atomic_fetch_add(&sc->touches, 1);
}

/* Write own slot in a random chunk of a RW window; false if none. */
static bool op_write(void)
{
	int rws[MAXATT], n = 0, c;
	struct att *a;
	uint32_t seq;
	uint64_t v;

	for (int i = 0; i < natt; i++)
		if (atts[i].rw)
			rws[n++] = i;
	if (!n)
		return false;
	a = &atts[rws[rng_below(&rng, (uint64_t)n)]];
	c = (int)rng_below(&rng, (uint64_t)chunks_of(a));
	if (ws->rec_inc[a->k] != a->inc) {
		ws->rec_inc[a->k] = a->inc;
		memset(ws->rec_seq[a->k], 0, sizeof(ws->rec_seq[a->k]));
	}
	seq = ++ws->next_seq;
	v = slot_val(a->inc, me, c, seq);
	*(volatile uint64_t *)(a->addr + (size_t)c * GRANULE + (size_t)(1 + me) * PS) = v;
	ws->rec_seq[a->k][c] = seq;
	for (int i = 0; i < natt; i++)	/* every window of this incarnation */
		if (atts[i].inc == a->inc && atts[i].k == a->k)
			check_slot(&atts[i], me, c);
	atomic_fetch_add(&sc->writes, 1);
	return true;
}

static void fill_region(char *p, size_t size, uint64_t inc, int k)
{
	struct rhdr *h = (struct rhdr *)p;

	for (size_t c = 0; c < size / GRANULE; c++)
		for (size_t pg = PAT_FIRST; pg < GRANULE / PS; pg++)
			*(uint64_t *)(p + c * GRANULE + pg * PS) = pat(inc, c * 512 + pg);
	h->inc = inc;
	h->size = size;
	h->slot = (uint64_t)k;
	atomic_store_explicit(&h->magic, MAGIC, memory_order_release);
}

/* Create (or recreate) slot k; returns the fd, the mapping in *pp. */
static int create_region(int k, size_t size, char **pp, uint64_t *incp)
{
	char name[64];
	int fd;

	slot_name(name, sizeof(name), k);
	fd = open(mpath(name), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size)) {
		FAIL("ftruncate %s %zu: %s", name, size, strerror(errno));
		close(fd);
		return -EIO;
	}
	*pp = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*pp == MAP_FAILED) {
		FAIL("mmap new %s: %s", name, strerror(errno));
		close(fd);
		return -EIO;
	}
	*incp = atomic_fetch_add(&sc->next_inc, 1) + 1;
	fill_region(*pp, size, *incp, k);
	return fd;
}

static void op_recreate(void)
{
	int k = (int)rng_below(&rng, (uint64_t)sp->slots);
	size_t size = (size_t)(4 + 4 * rng_below(&rng, 4)) * 2 * MIB;	/* 8..32 MiB */
	char name[64], *p;
	uint64_t inc;
	int fd;

	if (used_pages(MNT) > (long)USED_LIMIT) {
		atomic_fetch_add(&sc->skipped, 1);
		return;
	}
	slot_name(name, sizeof(name), k);
	if (unlink(mpath(name)) && errno != ENOENT)
		FAIL("worker %d: unlink %s: %s", me, name, strerror(errno));
	fd = create_region(k, size, &p, &inc);
	if (fd == -EEXIST) {		/* somebody else recreated it first */
		atomic_fetch_add(&sc->skipped, 1);
		return;
	}
	if (fd < 0) {
		if (fd != -EIO)
			FAIL("worker %d: create %s: %s", me, name, strerror(-fd));
		return;
	}
	atomic_fetch_add(&sc->recreates, 1);
	if (natt < MAXATT) {
		atts[natt++] = (struct att){ .addr = p, .size = size, .k = k, .inc = inc,
					     .rw = true, .via_lib = false, .fd = fd };
	} else {
		munmap(p, size);
		close(fd);
	}
}

/* fork variants */
enum { FK_VERIFY, FK_EXIT, FK_KILL, FK_PROCMEM, FK_EXEC };

static void child_verify(void)
{
	for (int i = 0; i < natt; i++) {
		check_header(&atts[i]);
		verify_chunk(&atts[i], (int)rng_below(&rng, (uint64_t)chunks_of(&atts[i])));
	}
	op_write();	/* the parent's slot: the parent must see it */
	verify_step();
}

static void child_fault_loop(void)
{
	for (int pass = 0; pass < 8; pass++)
		for (int i = 0; i < natt; i++)
			for (int c = 0; c < chunks_of(&atts[i]); c++)
				check_page(&atts[i], c, (size_t)(pass * 61 + c * 7) % 512);
}

static void op_fork(int kind)
{
	int pfd[2] = { -1, -1 }, st, want = 0;
	pid_t pid;

	if (kind == FK_PROCMEM && pipe2(pfd, O_CLOEXEC)) {
		FAIL("pipe: %s", strerror(errno));
		return;
	}
	rng_next(&rng);
	pid = fork();
	if (pid < 0) {
		FAIL("worker %d: fork: %s", me, strerror(errno));
		return;
	}
	if (pid == 0) {
		char b;

		child_setup();
		sfail_local = 0;

		rng ^= 0x9e3779b97f4a7c15ULL;
		switch (kind) {
		case FK_VERIFY:
			child_verify();
			break;
		case FK_EXIT:
			break;
		case FK_KILL:
			child_fault_loop();
			break;
		case FK_EXEC:	/* the mm with its windows goes at exec */
			for (int i = 0; i < natt; i++)
				verify_chunk(&atts[i], (int)rng_below(&rng, (uint64_t)chunks_of(&atts[i])));
			if (!sfail_local)
				execl("/bin/true", "true", (char *)NULL);
			break;
		case FK_PROCMEM:
			close(pfd[1]);
			if (read(pfd[0], &b, 1) != 1)
				_exit(0);	/* the parent gave up */
			child_verify();
			break;
		}
		_exit(sfail_local ? 1 : 0);
	}
	atomic_fetch_add(&sc->forks, 1);
	if (kind == FK_EXEC)
		atomic_fetch_add(&sc->execs, 1);
	if (kind == FK_KILL) {
		usleep((useconds_t)rng_below(&rng, 3000));
		kill(pid, SIGKILL);
		atomic_fetch_add(&sc->kills, 1);
	}
	if (kind == FK_PROCMEM) {
		const struct att *a = &atts[rng_below(&rng, (uint64_t)natt)];
		int c = (int)rng_below(&rng, (uint64_t)chunks_of(a));
		size_t pg = PAT_FIRST + (size_t)rng_below(&rng, 512 - PAT_FIRST);
		char path[64];
		uint64_t v = 0;
		int mfd;

		close(pfd[0]);
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
		mfd = open(path, O_RDONLY | O_CLOEXEC);
		if (mfd < 0 || pread(mfd, &v, 8, (off_t)(uintptr_t)(a->addr + (size_t)c * GRANULE + pg * PS)) != 8)
			FAIL("%s: read %s: %s", adesc(a), path, strerror(errno));
		else if (v != pat(a->inc, (size_t)c * 512 + pg))
			FAIL("%s: chunk %d page %zu of the fork child through %s: %#llx, want %#llx",
			     adesc(a), c, pg, path, (unsigned long long)v,
			     (unsigned long long)pat(a->inc, (size_t)c * 512 + pg));
		if (mfd >= 0)
			close(mfd);
		if (write(pfd[1], "g", 1) != 1)
			FAIL("pipe write: %s", strerror(errno));
		close(pfd[1]);
		atomic_fetch_add(&sc->procmem, 1);
	}
	if (waitpid(pid, &st, 0) != pid) {
		FAIL("worker %d: waitpid: %s", me, strerror(errno));
		return;
	}
	st = decode_status(st);
	if (kind == FK_KILL ? st != 0 && st != 128 + SIGKILL : st != want && !stopping(&sc->c))
		FAIL("worker %d: fork child (kind %d) exit status %d", me, kind, st);
}

/* CPU time of this thread and of its waited-for children, in us. */
static long cpu_us(void)
{
	struct timespec ts;
	struct rusage ru;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	getrusage(RUSAGE_CHILDREN, &ru);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000 +
	       ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec;
}

static int worker(int w)
{
	static const struct { int weight, op; } mix[] = {
		/*
		 * Weights per 1000 operations.  Under TCG a fork costs about
		 * 10-30 ms of CPU, an attach or a detach 3-15 ms (the TLB
		 * flush IPIs), a touch 0.3 ms: this mix lets 64 x 1000 fit.
		 */
		{ 45, 'a' }, { 40, 'd' }, { 557, 't' }, { 326, 'w' },
		{ 10, 'F' }, { 4, 'E' }, { 8, 'K' }, { 3, 'P' }, { 3, 'X' },
		{ 2, 'r' }, { 2, 'x' },
	};
	me = w;
	ws = &sc->w[w];
	rng = rng_seed((uint64_t)w * 1000 + (uint64_t)ws->generation);
	pin_cpu(w);
	natt = 0;
	while (atomic_load(&ws->ops_done) < sp->ops) {
		int x = (int)rng_below(&rng, 1000), op = 't';

		if (stopping(&sc->c))
			return atomic_load(&sc->c.abort) ? 1 : EXIT_STOPPED;
		for (size_t i = 0; i < sizeof(mix) / sizeof(mix[0]); i++) {
			if (x < mix[i].weight) {
				op = mix[i].op;
				break;
			}
			x -= mix[i].weight;
		}
		if (natt == 0 && op != 'r' && op != 'x' && op != 'E')
			op = 'a';
		if (op == 'a' && natt == MAXATT)
			op = 'd';
		long t0 = cpu_us();

		switch (op) {
		case 'a': op_attach(); break;
		case 'd': op_detach(); break;
		case 't': op_touch(); break;
		case 'w': if (!op_write()) op_touch(); break;
		case 'F': op_fork(FK_VERIFY); break;
		case 'E': op_fork(FK_EXIT); break;
		case 'K': op_fork(FK_KILL); break;
		case 'P': op_fork(FK_PROCMEM); break;
		case 'X': op_fork(FK_EXEC); break;
		case 'r': op_recreate(); break;
		case 'x': break;
		}
		verify_step();
		atomic_fetch_add(&sc->op_n[op], 1);
		atomic_fetch_add(&sc->op_us[op], cpu_us() - t0);
		atomic_fetch_add(&ws->ops_done, 1);
		if (op == 'x') {	/* exit holding the attachments */
			atomic_fetch_add(&sc->respawns, 1);
			return EXIT_RESPAWN;
		}
	}
	while (natt)
		drop_att(natt - 1);
	return atomic_load(&sc->c.abort) ? 1 : 0;
}

static pid_t spawn_worker(int w)
{
	pid_t pid = fork();

	if (pid == 0) {
		child_setup();
		_exit(worker(w));
	}
	if (pid < 0)
		FAIL("fork worker %d: %s", w, strerror(errno));
	return pid;
}

int stress_storm(const struct storm_params *params, struct storm_result *res)
{
	long start = now_ms(), base_used = used_pages(MNT);
	pid_t pids[SMAXW];
	int alive = 0;

	CHECK(params->procs <= SMAXW && params->slots >= 1 && params->slots <= SMAXSLOT);
	sp = params;
	memset(res, 0, sizeof(*res));
	res->ops_planned = (long)params->procs * params->ops;
	sc = shared_alloc(sizeof(*sc));
	sc->c.deadline = start + params->budget_ms;
	me = -1;

	for (int k = 0; k < params->slots; k++) {
		static const size_t sizes[] = { 8 * MIB, 16 * MIB, 32 * MIB, 24 * MIB };
		uint64_t inc;
		char *p;
		int fd = create_region(k, sizes[k], &p, &inc);

		CHECKF(fd >= 0, "create storm region %d: %s", k, strerror(-fd));
		munmap(p, sizes[k]);
		close(fd);
	}

	for (int w = 0; w < params->procs; w++) {
		pids[w] = spawn_worker(w);
		if (pids[w] > 0)
			alive++;
	}
	while (alive) {
		int st, w;
		pid_t pid = wait_any_until(-1, &st, now_ms() + 200);

		if (pid < 0)
			break;
		if (pid == 0) {
			if (past_deadline(&sc->c) && !atomic_load(&sc->c.abort)) {
				FAIL("deadline of %ld ms passed: stopping the workers", params->budget_ms);
			}
			if (atomic_load(&sc->c.abort) &&
			    now_ms() > sc->c.deadline + wait_ms(10000)) {
				for (w = 0; w < params->procs; w++)
					if (pids[w] > 0)
						kill(pids[w], SIGKILL);
			}
			continue;
		}
		for (w = 0; w < params->procs && pids[w] != pid; w++)
			;
		if (w == params->procs)
			continue;
		st = decode_status(st);
		pids[w] = 0;
		alive--;
		if (st == EXIT_RESPAWN && !stopping(&sc->c)) {
			sc->w[w].generation++;
			pids[w] = spawn_worker(w);
			if (pids[w] > 0)
				alive++;
		} else if (st != 0 && st != EXIT_RESPAWN && st != EXIT_STOPPED &&
			   !atomic_load(&sc->c.abort)) {
			FAIL("worker %d: exit status %d", w, st);
		}
	}
	for (int k = 0; k < params->slots; k++) {
		char name[64];

		slot_name(name, sizeof(name), k);
		if (unlink(mpath(name)))
			FAIL("unlink %s at the end: %s", name, strerror(errno));
	}
	if (wait_used_pages(MNT, base_used) != base_used)
		FAIL("mount still uses %ld pages after the storm, want %ld",
		     used_pages(MNT), base_used);
	for (int w = 0; w < params->procs; w++)
		res->ops += atomic_load(&sc->w[w].ops_done);
	if (res->ops != res->ops_planned)
		FAIL("only %ld of %ld operations ran%s", res->ops, res->ops_planned,
		     past_deadline(&sc->c) ? " before the deadline" : "");
	res->attaches = atomic_load(&sc->attaches);
	res->detaches = atomic_load(&sc->detaches);
	res->touches = atomic_load(&sc->touches);
	res->writes = atomic_load(&sc->writes);
	res->forks = atomic_load(&sc->forks);
	res->kills = atomic_load(&sc->kills);
	res->procmem = atomic_load(&sc->procmem);
	res->execs = atomic_load(&sc->execs);
	res->recreates = atomic_load(&sc->recreates);
	res->respawns = atomic_load(&sc->respawns);
	res->skipped = atomic_load(&sc->skipped);
	res->failures = atomic_load(&sc->c.failures);
	res->ms = now_ms() - start;
	if (params->verbose) {
		fprintf(stderr, "CPU per operation:");
		for (int op = 0; op < 128; op++)
			if (sc->op_n[op])
				fprintf(stderr, " %c %ld x %.2f ms", op, sc->op_n[op],
				        (double)sc->op_us[op] / sc->op_n[op] / 1000);
		fprintf(stderr, "\n");
	}
	shared_free(sc, sizeof(*sc));
	return res->failures ? 1 : 0;
}
