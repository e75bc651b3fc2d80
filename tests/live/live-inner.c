// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-inner: inner mappings seen by every attacher at once.
 * - MSHAREFS_CREATE_MAPPING gives fresh zero-filled memory with its own
 *   protection in every attacher; the other granules keep their bytes.
 * - MSHAREFS_UNMAP leaves a hole: SIGSEGV everywhere, and a reader spinning
 *   on it on the other CPU never reads it after the ioctl returned.
 * - MSHAREFS_PROTECT read-only: a writer spinning on the other CPU never
 *   writes after the ioctl returned and gets SIGSEGV; contents are kept;
 *   widening back lets everyone write; PROT_NONE forbids reads; removing
 *   PROT_EXEC stops code running from the granule; over a hole: ENOMEM.
 * - The statistics follow: a hole holds no pages, changed granules lose
 *   their tables, and the mount's used pages come back.
 * - Page granular: the same for single pages and ranges that cross a
 *   granule boundary (a reader and a writer spinning on the page, on the
 *   other CPU, stopped when the ioctl returns); the other pages of the
 *   granules keep their bytes and protection, in every attacher.
 * - mshare_map(), mshare_unmap() and mshare_protect() do the same.
 */
#include "common.h"

#include <libmshare.h>

#include <fcntl.h>
#include <linux/msharefs.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define NCH	8
#define SZ	(NCH * GRANULE)
#define RW	(PROT_READ | PROT_WRITE)
#define RWX	(PROT_READ | PROT_WRITE | PROT_EXEC)

static int map_range(int fd, unsigned long first, unsigned long n, int prot)
{
	struct mshare_create mc = {
		.region_offset = first * GRANULE, .size = n * GRANULE,
		.prot = prot, .flags = MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS,
		.fd = (__u32)-1,
	};

	return ioctl(fd, MSHAREFS_CREATE_MAPPING, &mc);
}

static int unmap_range(int fd, unsigned long first, unsigned long n)
{
	struct mshare_unmap mu = { .region_offset = first * GRANULE, .size = n * GRANULE };

	return ioctl(fd, MSHAREFS_UNMAP, &mu);
}

static int protect_range(int fd, unsigned long first, unsigned long n, int prot)
{
	struct mshare_protect mp = {
		.region_offset = first * GRANULE, .size = n * GRANULE, .prot = prot,
	};

	return ioctl(fd, MSHAREFS_PROTECT, &mp);
}

#define PG	4096UL

static int map_pages(int fd, size_t off, size_t len, int prot)
{
	struct mshare_create mc = {
		.region_offset = off, .size = len, .prot = prot,
		.flags = MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS, .fd = (__u32)-1,
	};

	return ioctl(fd, MSHAREFS_CREATE_MAPPING, &mc);
}

static int unmap_pages(int fd, size_t off, size_t len)
{
	struct mshare_unmap mu = { .region_offset = off, .size = len };

	return ioctl(fd, MSHAREFS_UNMAP, &mu);
}

static int protect_pages(int fd, size_t off, size_t len, int prot)
{
	struct mshare_protect mp = { .region_offset = off, .size = len, .prot = prot };

	return ioctl(fd, MSHAREFS_PROTECT, &mp);
}

static struct msharefs_region_stat rstat(int fd)
{
	struct msharefs_region_stat st;

	EXPECT_OK(ioctl(fd, MSHAREFS_GET_REGION_STAT, &st));
	return st;
}

/* ---- a child spinning on one granule on the other CPU ---- */

struct spin {
	_Atomic int phase;	/* 1: spinning, 2: ioctl returned */
	_Atomic long ops;	/* accesses done */
	_Atomic long late;	/* accesses that succeeded after phase 2 */
	_Atomic int sig;	/* the signal that stopped it */
};

static struct spin *spin;
static sigjmp_buf spin_jmp;

static void spin_handler(int sig)
{
	atomic_store(&spin->sig, sig);
	siglongjmp(spin_jmp, 1);
}

/* Read (write = 0) or write *p until a signal; count late accesses. */
static int spinner(volatile char *p, int write, int cpu)
{
	struct sigaction sa = { .sa_handler = spin_handler };

	cpu_pin(cpu);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	if (sigsetjmp(spin_jmp, 1))
		return 0;
	atomic_store(&spin->phase, 1);
	for (;;) {
		/* The flag first: an access after seeing 2 must fault. */
		int returned = atomic_load(&spin->phase) == 2;

		atomic_thread_fence(memory_order_seq_cst);
		if (write)
			*p = (char)atomic_load(&spin->ops);
		else
			(void)*p;
		if (returned)
			atomic_fetch_add(&spin->late, 1);
		atomic_fetch_add(&spin->ops, 1);
	}
}

/* Start a spinner on CPU 1 (or 0 on a single CPU) over a fresh window. */
static pid_t start_spinner_at(int fd, size_t off, int write)
{
	pid_t pid;

	memset(spin, 0, sizeof(*spin));
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char *w = raw_attach(fd, SZ, write ? RW : PROT_READ);

		_exit(spinner(w + off, write, cpus_online() > 1 ? 1 : 0));
	}
	while (atomic_load(&spin->phase) != 1 || atomic_load(&spin->ops) < 1000)
		sched_yield();
	return pid;
}

static pid_t start_spinner(int fd, unsigned long chunk, int write)
{
	return start_spinner_at(fd, chunk * GRANULE + 64, write);
}

static void finish_spinner(pid_t pid, const char *what)
{
	long end = now_ms() + wait_ms(5000);

	atomic_store(&spin->phase, 2);
	while (!atomic_load(&spin->sig) && now_ms() < end)
		usleep(1000);
	CHECKF(atomic_load(&spin->sig) == SIGSEGV, "%s: the spinner got signal %d",
	       what, atomic_load(&spin->sig));
	CHECKF(atomic_load(&spin->late) == 0, "%s: %ld accesses after the ioctl returned",
	       what, atomic_load(&spin->late));
	fprintf(stderr, "  %s: spinner made %ld accesses, then SIGSEGV\n", what,
		atomic_load(&spin->ops));
	CHECK(wait_status(pid) == 0);
}

/* ---- another attacher, as a child that checks what it is told ---- */

static int other_sees(int fd, int (*fn)(char *))
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		char *w = raw_attach(fd, SZ, RWX);

		_exit(fn(w));
	}
	return wait_status(pid);
}

static int sees_after_create(char *w)
{
	if (verify_zero(w + 1 * GRANULE, GRANULE) != -1)
		return 1;
	if (verify_pattern(w, GRANULE, 0) != -1 ||
	    verify_pattern(w + 2 * GRANULE, GRANULE, 2) != -1)
		return 2;
	return 0;
}

static int sees_hole(char *w)
{
	if (probe_read(w + 3 * GRANULE) != SIGSEGV ||
	    probe_write(w + 3 * GRANULE + GRANULE - 1, 1) != SIGSEGV)
		return 1;
	return probe_read(w + 4 * GRANULE) == 0 ? 0 : 2;
}

/* Granule 2 holds pattern 2 except word 8, which the spinner wrote. */
static bool granule2_intact(const char *w)
{
	const uint64_t *g = (const uint64_t *)(w + 2 * GRANULE);

	for (size_t i = 0; i < GRANULE / 8; i++)
		if (i != 8 && g[i] != pattern_word(2, i))
			return false;
	return true;
}

static int sees_readonly(char *w)
{
	if (probe_write(w + 2 * GRANULE, 1) != SIGSEGV)
		return 1;
	return granule2_intact(w) ? 0 : 2;
}

static int writes_widened(char *w)
{
	if (probe_write(w + 2 * GRANULE, 0x5a) != 0)
		return 1;
	return 0;
}

/* Granule 7, page 5: a hole; pages 4 and 6 still hold pattern 7. */
static int sees_page_hole(char *w)
{
	char *g = w + 7 * GRANULE;

	if (probe_read(g + 5 * PG) != SIGSEGV || probe_write(g + 6 * PG - 1, 1) != SIGSEGV)
		return 1;
	if (verify_pattern(g, 5 * PG, 7) != -1 ||
	    verify_pattern_part(g, 6 * PG, GRANULE - 6 * PG, 7) != -1)
		return 2;
	return 0;
}

/* The last page of granule 6 and the first two of 7: PROT_NONE; not more. */
static int sees_pages_none(char *w)
{
	char *b = w + 7 * GRANULE;

	if (probe_read(b - PG) != SIGSEGV || probe_read(b) != SIGSEGV ||
	    probe_read(b + 2 * PG - 1) != SIGSEGV)
		return 1;
	if (probe_read(b - PG - 1) != 0 || probe_read(b + 2 * PG) != 0)
		return 2;
	return probe_write(b + 2 * PG, (unsigned char)pattern_word(7, 2 * PG / 8)) == 0 ? 0 : 3;
}

typedef int (*code_fn)(void);

int main(void)
{
	long used0, pt0;
	char *w;
	int fd;
	pid_t pid;
	struct msharefs_region_stat st;

	live_init("live-inner");
	used0 = used_pages(MNT);
	spin = mmap(NULL, sizeof(*spin), RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(spin != MAP_FAILED);

	fd = raw_create("inner", SZ);
	w = raw_attach(fd, SZ, RWX);
	for (long c = 0; c < NCH; c++)
		fill_pattern(w + c * GRANULE, GRANULE, c);
	st = rstat(fd);
	CHECK(st.resident_pages == NCH * CHUNK_PAGES);

	/* CREATE_MAPPING: fresh zeroes in granule 1 for everyone. */
	EXPECT_OK(map_range(fd, 1, 1, RW));
	CHECK(verify_zero(w + GRANULE, GRANULE) == -1);
	CHECK(other_sees(fd, sees_after_create) == 0);
	CHECK(verify_pattern(w + 2 * GRANULE, GRANULE, 2) == -1);
	fill_pattern(w + GRANULE, GRANULE, 11);
	CHECK(verify_pattern(w + GRANULE, GRANULE, 11) == -1);

	/* UNMAP: a hole, with a reader spinning on it on the other CPU. */
	pid = start_spinner(fd, 3, 0);
	EXPECT_OK(unmap_range(fd, 3, 1));
	finish_spinner(pid, "UNMAP");
	CHECK(probe_read(w + 3 * GRANULE) == SIGSEGV);
	CHECK(probe_write(w + 3 * GRANULE, 1) == SIGSEGV);
	CHECK(other_sees(fd, sees_hole) == 0);
	st = rstat(fd);
	CHECKF(st.resident_pages == (NCH - 1) * CHUNK_PAGES, "resident %llu after UNMAP",
	       (unsigned long long)st.resident_pages);
	EXPECT_OK(unmap_range(fd, 3, 1));			/* a hole again: fine */
	EXPECT_ERRNO(protect_range(fd, 2, 2, PROT_READ), ENOMEM);	/* over the hole */
	CHECK(probe_write(w + 2 * GRANULE + 8, 0) == 0);	/* nothing changed */
	fill_pattern(w + 2 * GRANULE, GRANULE, 2);

	/* CREATE_MAPPING fills the hole again. */
	EXPECT_OK(map_range(fd, 3, 1, RW));
	CHECK(verify_zero(w + 3 * GRANULE, GRANULE) == -1);
	fill_pattern(w + 3 * GRANULE, GRANULE, 3);

	/* PROTECT read-only, with a writer spinning on the other CPU. */
	pid = start_spinner(fd, 2, 1);
	EXPECT_OK(protect_range(fd, 2, 1, PROT_READ));
	finish_spinner(pid, "PROTECT read-only");
	CHECK(probe_write(w + 2 * GRANULE, 1) == SIGSEGV);
	CHECK(probe_read(w + 2 * GRANULE) == 0);
	CHECK(granule2_intact(w));
	CHECK(other_sees(fd, sees_readonly) == 0);
	/* Widen again: everyone writes. */
	EXPECT_OK(protect_range(fd, 2, 1, RW));
	CHECK(probe_write(w + 2 * GRANULE, 7) == 0);
	CHECK(other_sees(fd, writes_widened) == 0);
	CHECK(w[2 * GRANULE] == 0x5a);

	/* PROT_NONE: no access at all; the contents come back with RW. */
	fill_pattern(w + 4 * GRANULE, GRANULE, 4);
	EXPECT_OK(protect_range(fd, 4, 1, PROT_NONE));
	CHECK(probe_read(w + 4 * GRANULE) == SIGSEGV);
	CHECK(probe_write(w + 4 * GRANULE, 1) == SIGSEGV);
	EXPECT_OK(protect_range(fd, 4, 1, RW));
	CHECK(verify_pattern(w + 4 * GRANULE, GRANULE, 4) == -1);

	/* PROT_EXEC: code in granule 5 runs until PROTECT takes exec away. */
	{
		unsigned char *code = (unsigned char *)w + 5 * GRANULE;
		code_fn fn = (code_fn)(void *)code;
		static const unsigned char ret42[] = { 0xb8, 42, 0, 0, 0, 0xc3 }; /* mov eax,42; ret */
		struct sigaction sa = { .sa_handler = spin_handler }, old;
		volatile int got = -1;

		memcpy(code, ret42, sizeof(ret42));
		__builtin___clear_cache((char *)code, (char *)code + sizeof(ret42));
		CHECK(fn() == 42);
		EXPECT_OK(protect_range(fd, 5, 1, RW));
		memset(spin, 0, sizeof(*spin));
		sigaction(SIGSEGV, &sa, &old);
		if (!sigsetjmp(spin_jmp, 1))
			got = fn();
		sigaction(SIGSEGV, &old, NULL);
		CHECKF(got == -1 && atomic_load(&spin->sig) == SIGSEGV,
		       "code ran (%d) after PROTECT without PROT_EXEC", got);
		EXPECT_OK(protect_range(fd, 5, 1, RWX));
		CHECK(fn() == 42);
	}

	/* A read-only window never writes, whatever the inner protection. */
	{
		char *ro = raw_attach(fd, SZ, PROT_READ);

		CHECK(probe_write(ro + 4 * GRANULE, 1) == SIGSEGV);
		CHECK(verify_pattern(ro + 4 * GRANULE, GRANULE, 4) == -1);
		CHECK(munmap(ro, SZ) == 0);
	}

	/* The tables of changed granules are gone; pages follow the changes. */
	pt0 = rstat(fd).pt_tables;
	EXPECT_OK(unmap_range(fd, 0, NCH));
	st = rstat(fd);
	CHECKF(st.resident_pages == 0 && st.pt_tables == 0 && st.pt_links == 0,
	       "after UNMAP of everything: %llu pages, %llu tables (was %ld), %llu links",
	       (unsigned long long)st.resident_pages, (unsigned long long)st.pt_tables, pt0,
	       (unsigned long long)st.pt_links);
	CHECK(probe_read(w) == SIGSEGV);
	CHECK(used_pages(MNT) == used0);
	EXPECT_OK(map_range(fd, 0, NCH, RW));
	CHECK(verify_zero(w, SZ) == -1);

	/* Page granular: one page of granule 7 becomes a hole, under a reader. */
	fill_pattern(w + 7 * GRANULE, GRANULE, 7);
	st = rstat(fd);
	pid = start_spinner_at(fd, 7 * GRANULE + 5 * PG + 64, 0);
	EXPECT_OK(unmap_pages(fd, 7 * GRANULE + 5 * PG, PG));
	finish_spinner(pid, "UNMAP of one page");
	CHECK(other_sees(fd, sees_page_hole) == 0);
	CHECK(sees_page_hole(w) == 0);
	CHECKF(rstat(fd).resident_pages == st.resident_pages - 1, "resident %llu, was %llu",
	       (unsigned long long)rstat(fd).resident_pages,
	       (unsigned long long)st.resident_pages);
	EXPECT_ERRNO(protect_pages(fd, 7 * GRANULE + 4 * PG, 3 * PG, PROT_READ), ENOMEM);
	CHECK(probe_write(w + 7 * GRANULE + 4 * PG, (unsigned char)pattern_word(7, 4 * PG / 8)) == 0);
	/* One page read-only under a writer; its neighbours stay writable. */
	pid = start_spinner_at(fd, 7 * GRANULE + 6 * PG + 64, 1);
	EXPECT_OK(protect_pages(fd, 7 * GRANULE + 6 * PG, PG, PROT_READ));
	finish_spinner(pid, "PROTECT read-only of one page");
	CHECK(probe_write(w + 7 * GRANULE + 6 * PG + 100, 1) == SIGSEGV);
	CHECK(probe_write(w + 7 * GRANULE + 7 * PG, (unsigned char)pattern_word(7, 7 * PG / 8)) == 0);
	EXPECT_OK(protect_pages(fd, 7 * GRANULE + 6 * PG, PG, RW));
	fill_pattern(w + 7 * GRANULE + 6 * PG, PG, 76);
	CHECK(verify_pattern(w + 7 * GRANULE + 6 * PG, PG, 76) == -1);
	/* A new page in the hole: zero; the neighbours keep their bytes. */
	EXPECT_OK(map_pages(fd, 7 * GRANULE + 5 * PG, PG, RW));
	CHECK(verify_zero(w + 7 * GRANULE + 5 * PG, PG) == -1);
	CHECK(verify_pattern(w + 7 * GRANULE, 5 * PG, 7) == -1);
	/* Three pages across the boundary of granules 6 and 7: PROT_NONE. */
	fill_pattern(w + 6 * GRANULE, GRANULE, 6);
	fill_pattern(w + 7 * GRANULE, GRANULE, 7);
	EXPECT_OK(protect_pages(fd, 7 * GRANULE - PG, 3 * PG, PROT_NONE));
	CHECK(sees_pages_none(w) == 0);
	CHECK(other_sees(fd, sees_pages_none) == 0);
	EXPECT_OK(protect_pages(fd, 7 * GRANULE - PG, 3 * PG, RW));
	CHECK(verify_pattern(w + 6 * GRANULE, GRANULE, 6) == -1);
	CHECK(verify_pattern(w + 7 * GRANULE, GRANULE, 7) == -1);
	/* Exec per page: code runs from one page, not from the next. */
	{
		unsigned char *code = (unsigned char *)w + 6 * GRANULE + 3 * PG;
		static const unsigned char ret9[] = { 0xb8, 9, 0, 0, 0, 0xc3 };
		struct sigaction sa = { .sa_handler = spin_handler }, old;
		volatile int got = -1;

		EXPECT_OK(protect_pages(fd, 6 * GRANULE, GRANULE, RW));
		EXPECT_OK(protect_pages(fd, 6 * GRANULE + 3 * PG, PG, RWX));
		memcpy(code, ret9, sizeof(ret9));
		memcpy(code + PG, ret9, sizeof(ret9));
		__builtin___clear_cache((char *)code, (char *)code + PG + sizeof(ret9));
		CHECK(((code_fn)(void *)code)() == 9);
		memset(spin, 0, sizeof(*spin));
		sigaction(SIGSEGV, &sa, &old);
		if (!sigsetjmp(spin_jmp, 1))
			got = ((code_fn)(void *)(code + PG))();
		sigaction(SIGSEGV, &old, NULL);
		CHECKF(got == -1 && atomic_load(&spin->sig) == SIGSEGV,
		       "code ran (%d) from a page without PROT_EXEC", got);
		EXPECT_OK(protect_pages(fd, 6 * GRANULE, GRANULE, RWX));
	}

	/* The library's wrappers send the same requests. */
	fill_pattern(w + 6 * GRANULE, GRANULE, 6);
	EXPECT_OK(mshare_protect(fd, 6 * GRANULE, GRANULE, PROT_READ));
	CHECK(probe_write(w + 6 * GRANULE, 1) == SIGSEGV);
	CHECK(verify_pattern(w + 6 * GRANULE, GRANULE, 6) == -1);
	EXPECT_OK(mshare_unmap(fd, 6 * GRANULE, GRANULE));
	CHECK(probe_read(w + 6 * GRANULE) == SIGSEGV);
	EXPECT_ERRNO(mshare_protect(fd, 6 * GRANULE, GRANULE, RW), ENOMEM);
	EXPECT_OK(mshare_map(fd, 6 * GRANULE, GRANULE, RW));
	CHECK(verify_zero(w + 6 * GRANULE, GRANULE) == -1);
	EXPECT_OK(mshare_map(fd, GRANULE / 2, GRANULE, RW));
	CHECK(verify_zero(w + GRANULE / 2, GRANULE) == -1);
	EXPECT_ERRNO(mshare_map(fd, PG / 2, GRANULE, RW), EINVAL);
	EXPECT_ERRNO(mshare_unmap(fd, 0, SZ + GRANULE), EINVAL);
	EXPECT_ERRNO(mshare_protect(fd, 0, GRANULE, 0x10), EINVAL);

	CHECK(munmap(w, SZ) == 0);
	CHECK(close(fd) == 0);
	CHECK(unlink(mpath("inner")) == 0);
	live_done();
}
