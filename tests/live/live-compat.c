// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-compat: what the public selftests written against upstream mshare
 * v3 check ("Add selftests for mshare", V2, September 2025: basic.c and
 * memory.c), as a program written the way they are: a region of the size
 * mshare_info gives (upstream's unit, 512 GiB), attached whole, with one
 * inner mapping at its start.  Our own code, the same cases:
 *
 * - basic, for anonymous mappings of 4 KiB and 8 KiB and MAP_HUGETLB ones
 *   of 2 MiB and 4 MiB:
 *   - shared: a forked child opens and attaches the region and writes
 *     every page of the mapping; the parent, attached before the fork,
 *     reads it all back;
 *   - unmap: after MSHAREFS_UNMAP of the mapping, a write to it raises
 *     SIGSEGV (every page of it, in the attacher and a new one).
 * - memory, in a memory cgroup of its own (the creator's):
 *   - thp: with shmem_enabled=always, 2 MiB of an anonymous mapping
 *     written once are one 2 MiB page: memory.stat shmem_thp grows by
 *     2 MiB, and the window maps it with a PMD entry (ShmemPmdMapped);
 *   - swap: with a swap device, MADV_PAGEOUT of that memory pages nothing
 *     out (region memory is unevictable, msharefs(7)): pswpout does not
 *     move, the bytes stay, memory.stat counts it in unevictable; the
 *     same call on a MAP_SHARED | MAP_ANONYMOUS mapping does page out,
 *     so the swap device works.  (Upstream's test wants pswpout to grow.)
 *
 * On a kernel without 2 MiB pages for shared memory (PREEMPT_RT; the debug
 * kernel, CONFIG_BASE_SMALL) the MAP_HUGETLB mappings fail with EOPNOTSUPP
 * and thp finds 4 KiB pages, as msharefs(7) says.  Parts: basic thp swap (all by default).
 */
#include "common.h"

#include <fcntl.h>
#include <linux/msharefs.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RW		(PROT_READ | PROT_WRITE)
#define CG		"/sys/fs/cgroup"
#define TESTCG		CG "/mshare-compat"
#define SHMEM_ENABLED	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"
#define BRD		"/lib/brd.ko"
#define RAM		"/dev/ram0"

static size_t unit;		/* what mshare_info reads */
static bool thp;		/* the kernel has transparent huge pages */

static size_t read_unit(void)
{
	const char *text = proc_read(MNT "/mshare_info");

	CHECK(text != NULL);
	return strtoull(text, NULL, 10);
}

/* Upstream's fixture: a region of the unit, one mapping at its start. */
static int make_region(const char *name, size_t size, __u32 flags)
{
	struct mshare_create mc = {
		.region_offset = 0, .size = size, .prot = RW,
		.flags = flags, .fd = (__u32)-1,
	};
	int fd = raw_create(name, unit);

	if (ioctl(fd, MSHAREFS_CREATE_MAPPING, &mc)) {
		int err = errno;

		close(fd);
		CHECK(unlink(mpath(name)) == 0);
		errno = err;
		return -1;
	}
	return fd;
}

static int unmap(int fd, size_t size)
{
	struct mshare_unmap mu = { .region_offset = 0, .size = size };

	return ioctl(fd, MSHAREFS_UNMAP, &mu);
}

/* ---- basic ---- */

struct basic_case {
	const char *name;
	size_t size;
	__u32 flags;
};

static const struct basic_case basic_cases[] = {
	{ "anon-4k", 4096, MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS },
	{ "hugetlb-2m", 2 * MIB, MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS | MAP_HUGETLB },
	{ "anon-8k", 8192, MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS },
	{ "hugetlb-4m", 4 * MIB, MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS | MAP_HUGETLB },
};

static const struct basic_case *cur;

/* The child: attach by name, write the mapping. */
static int child_writes(void *arg)
{
	int fd = open(mpath(cur->name), O_RDWR);
	char *w;

	(void)arg;
	if (fd < 0)
		return 2;
	w = mmap(NULL, unit, RW, MAP_SHARED, fd, 0);
	if (w == MAP_FAILED)
		return 3;
	fill_pattern(w, cur->size, 12);
	return 0;
}

static void test_shared(const struct basic_case *c)
{
	int fd = make_region(c->name, c->size, c->flags);
	char *w;

	if (c->flags & MAP_HUGETLB && !thp) {
		CHECKF(fd < 0 && errno == EOPNOTSUPP,
		       "%s on a kernel without THP: %d (%s), want EOPNOTSUPP", c->name, fd,
		       live_errname(errno));
		return;
	}
	CHECKF(fd >= 0, "%s: CREATE_MAPPING %zu bytes: %s", c->name, c->size,
	       live_errname(errno));
	w = raw_attach(fd, unit, RW);
	CHECK(verify_zero(w, c->size) == -1);
	cur = c;
	CHECK(run_child(child_writes, NULL) == 0);
	CHECKF(verify_pattern(w, c->size, 12) == -1, "%s: the parent reads what the child wrote",
	       c->name);
	CHECK(munmap(w, unit) == 0);
	CHECK(close(fd) == 0);
	CHECK(unlink(mpath(c->name)) == 0);
}

static int child_faults(void *arg)
{
	int fd = open(mpath(cur->name), O_RDWR);
	char *w;

	(void)arg;
	if (fd < 0)
		return 2;
	w = mmap(NULL, unit, RW, MAP_SHARED, fd, 0);
	if (w == MAP_FAILED)
		return 3;
	for (size_t off = 0; off < cur->size; off += 4096)
		if (probe_write(w + off, 'D') != SIGSEGV)
			return 4;
	return 0;
}

static void test_unmap(const struct basic_case *c)
{
	int fd = make_region(c->name, c->size, c->flags);
	char *w;

	if (c->flags & MAP_HUGETLB && !thp) {
		CHECK(fd < 0 && errno == EOPNOTSUPP);
		return;
	}
	CHECK(fd >= 0);
	w = raw_attach(fd, unit, RW);
	w[0] = 'M';
	EXPECT_OK(unmap(fd, c->size));
	CHECKF(probe_write(w, 'D') == SIGSEGV, "%s: a write after MSHAREFS_UNMAP", c->name);
	CHECK(probe_write(w + c->size - 1, 'D') == SIGSEGV);
	cur = c;
	CHECK(run_child(child_faults, NULL) == 0);
	/* Past the mapping: the rest of the region is still mapped (ours). */
	CHECK(probe_write(w + c->size + (c->flags & MAP_HUGETLB ? 0 : 4096), 1) == 0);
	CHECK(munmap(w, unit) == 0);
	CHECK(close(fd) == 0);
	CHECK(unlink(mpath(c->name)) == 0);
}

static void part_basic(void)
{
	for (size_t i = 0; i < sizeof(basic_cases) / sizeof(basic_cases[0]); i++) {
		fprintf(stderr, "  basic %s\n", basic_cases[i].name);
		test_shared(&basic_cases[i]);
		test_unmap(&basic_cases[i]);
	}
}

/* ---- memory: a cgroup of the test's ---- */

static char old_shmem_enabled[32];

static long cg_stat(const char *key)
{
	const char *text = proc_read(TESTCG "/memory.stat");
	char k[64];
	const char *p;

	CHECK(text != NULL);
	snprintf(k, sizeof(k), "\n%s ", key);
	p = strstr(text, k);
	if (!p && !strncmp(text, key, strlen(key)) && text[strlen(key)] == ' ')
		return strtol(text + strlen(key) + 1, NULL, 10);
	return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

static void cg_move(const char *cg)
{
	char path[128], pid[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	CHECKF(proc_write(path, pid) == 0, "join %s", cg);
}

static void cg_cleanup(void)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	proc_write(CG "/cgroup.procs", pid);
	rmdir(TESTCG);
	if (old_shmem_enabled[0])
		proc_write(SHMEM_ENABLED, old_shmem_enabled);
}

static void cg_setup(void)
{
	const char *now;

	if (access(CG "/cgroup.controllers", F_OK))
		CHECKF(mount("none", CG, "cgroup2", 0, NULL) == 0, "mount cgroup2");
	CHECK(proc_write(CG "/cgroup.subtree_control", "+memory") == 0);
	CHECK(mkdir(TESTCG, 0755) == 0 || errno == EEXIST);
	live_atexit(cg_cleanup);
	cg_move(TESTCG);
	now = thp ? proc_read(SHMEM_ENABLED) : NULL;
	if (now) {
		/* "always [never] ..." : keep the bracketed word */
		const char *b = strchr(now, '['), *e = b ? strchr(b, ']') : NULL;

		CHECK(b && e && (size_t)(e - b - 1) < sizeof(old_shmem_enabled));
		memcpy(old_shmem_enabled, b + 1, (size_t)(e - b - 1));
	}
}

static void part_thp(void)
{
	long thp0 = cg_stat("shmem_thp"), thp1;
	int fd;
	char *w;

	if (thp)
		CHECK(proc_write(SHMEM_ENABLED, "always") == 0);
	fd = make_region("thp", 2 * MIB, MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS);
	CHECK(fd >= 0);
	w = raw_attach(fd, unit, RW);
	memset(w, 1, 2 * MIB);
	thp1 = cg_stat("shmem_thp");
	fprintf(stderr, "  thp: memory.stat shmem_thp %ld -> %ld, ShmemPmdMapped %ld kB\n",
		thp0, thp1, smaps_kib(w, "ShmemPmdMapped"));
	if (thp) {
		CHECKF(thp1 - thp0 >= (long)(2 * MIB), "shmem_thp grew by %ld", thp1 - thp0);
		CHECKF(smaps_kib(w, "ShmemPmdMapped") == 2048, "the 2 MiB page is not PMD-mapped");
	} else {
		CHECK(thp1 == thp0 || thp1 == -1);
		CHECK(smaps_kib(w, "ShmemPmdMapped") <= 0);
	}
	CHECK(munmap(w, unit) == 0);
	CHECK(close(fd) == 0);
	CHECK(unlink(mpath("thp")) == 0);
}

static bool brd_here;

static void swap_cleanup(void)
{
	swapoff(RAM);
	if (brd_here)
		syscall(SYS_delete_module, "brd", O_NONBLOCK);
}

static void swap_setup(void)
{
	char *const mkswap[] = { "/sbin/mkswap", RAM, NULL };
	int mfd = open(BRD, O_RDONLY | O_CLOEXEC);
	char out[256];
	long end;

	CHECKF(mfd >= 0, "%s is missing: the VM harness provides brd", BRD);
	if (syscall(SYS_finit_module, mfd, "rd_nr=1 rd_size=65536", 0) == 0)
		brd_here = true;
	else
		CHECKF(errno == EEXIST, "finit_module(brd): %s", live_errname(errno));
	close(mfd);
	live_atexit(swap_cleanup);
	end = now_ms() + wait_ms(3000);
	while (access(RAM, F_OK)) {
		CHECKF(now_ms() < end, "%s did not appear", RAM);
		usleep(10000);
	}
	CHECKF(run_prog(mkswap, out, sizeof(out)) == 0, "mkswap: %s", out);
	CHECKF(swapon(RAM, 0) == 0, "swapon %s", RAM);
}

static long vmstat(const char *key)
{
	const char *text = proc_read("/proc/vmstat");
	char k[64];
	const char *p;

	CHECK(text != NULL);
	snprintf(k, sizeof(k), "\n%s ", key);
	p = strstr(text, k);
	CHECK(p != NULL);
	return strtol(p + strlen(k), NULL, 10);
}

static void part_swap(void)
{
	long out0, out1, unev;
	char *w, *anon;
	int fd;

	swap_setup();
	/* The swap device works: shared anonymous memory pages out. */
	anon = mmap(NULL, 2 * MIB, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(anon != MAP_FAILED);
	fill_pattern(anon, 2 * MIB, 5);
	out0 = vmstat("pswpout");
	EXPECT_OK(madvise(anon, 2 * MIB, MADV_PAGEOUT));
	out1 = vmstat("pswpout");
	fprintf(stderr, "  swap: MAP_SHARED|MAP_ANONYMOUS: pswpout +%ld\n", out1 - out0);
	CHECKF(out1 - out0 >= 256, "a shared anonymous mapping paged out %ld pages", out1 - out0);
	CHECK(verify_pattern(anon, 2 * MIB, 5) == -1);
	CHECK(munmap(anon, 2 * MIB) == 0);

	/* Region memory: unevictable, nothing pages out. */
	fd = make_region("swap", 2 * MIB, MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS);
	CHECK(fd >= 0);
	w = raw_attach(fd, unit, RW);
	fill_pattern(w, 2 * MIB, 6);
	unev = cg_stat("unevictable");
	out0 = vmstat("pswpout");
	EXPECT_OK(madvise(w, 2 * MIB, MADV_PAGEOUT));
	out1 = vmstat("pswpout");
	fprintf(stderr, "  swap: region: pswpout +%ld, memory.stat unevictable %ld, "
		"pswpout in memory.stat: %ld\n", out1 - out0, unev, cg_stat("pswpout"));
	CHECKF(out1 == out0, "region memory paged out: pswpout +%ld", out1 - out0);
	/* Less what sits in the per-CPU LRU batches (15 pages a CPU). */
	CHECKF(unev >= (long)(2 * MIB) - 2 * 15 * 4096, "memory.stat unevictable %ld", unev);
	CHECK(verify_pattern(w, 2 * MIB, 6) == -1);
	CHECK(munmap(w, unit) == 0);
	CHECK(close(fd) == 0);
	CHECK(unlink(mpath("swap")) == 0);
}

static bool want(int argc, char **argv, const char *part)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], part))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	live_init("live-compat");
	for (int i = 1; i < argc; i++)
		CHECKF(!strcmp(argv[i], "basic") || !strcmp(argv[i], "thp") ||
		       !strcmp(argv[i], "swap"), "unknown part %s", argv[i]);
	unit = read_unit();
	CHECKF(unit == 512UL << 30, "mshare_info reads %zu, want upstream's 512 GiB", unit);
	thp = shmem_thp_works();
	fprintf(stderr, "  mshare_info: %zu; 2 MiB pages for shared memory: %s\n", unit,
		thp ? "yes" : "no");
	if (want(argc, argv, "basic"))
		part_basic();
	if (want(argc, argv, "thp") || want(argc, argv, "swap"))
		cg_setup();
	if (want(argc, argv, "thp"))
		part_thp();
	if (want(argc, argv, "swap"))
		part_swap();
	live_done();
}
