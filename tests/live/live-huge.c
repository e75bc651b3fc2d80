// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-huge: region memory in 2 MiB pages (msharefs(7), "Huge pages").
 * - pmd: with shmem_enabled=always, a region's memory comes in 2 MiB pages
 *   and every attacher maps each granule with one PMD entry: one fault per
 *   granule, ShmemPmdMapped, no region tables.  A granule whose pages do
 *   not all share one state (a PROTECT or UNMAP of one page), or whose
 *   protection lacks PROT_EXEC in an executable window, or a window the
 *   process marked MADV_NOHUGEPAGE, is mapped by a region table of 4 KiB
 *   entries instead, with the page's protection; a granule that is whole
 *   again gets its PMD entry back.  A read-only window never writes.
 * - fallback: where no 2 MiB page can be had (here: the creator's memory
 *   cgroup has less than 2 MiB left), shmem gives 4 KiB pages and the
 *   region works as without huge pages.
 * - hugetlb: MAP_HUGETLB inner mappings are 2 MiB pages whatever
 *   shmem_enabled says, allocated by the request (resident at once), in
 *   whole granules: a start not on a granule, a huge page size other than
 *   2 MiB, a change that splits one: EINVAL; a creator's cgroup without
 *   room: ENOMEM and nothing changes; no THP in the kernel: EOPNOTSUPP.
 * - mountopt: huge=always/never/within_size on a second mount decide
 *   instead of shmem_enabled, /proc/mounts shows them, a remount changes
 *   them for regions sized afterwards; without THP only huge=never.
 * Parts: pmd fallback hugetlb mountopt (all by default).
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define RW		(PROT_READ | PROT_WRITE)
#define RWX		(PROT_READ | PROT_WRITE | PROT_EXEC)
#define NCH		4
#define SZ		(NCH * GRANULE)
#define ANON		(MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS)
#define HUGETLB		(ANON | MAP_HUGETLB)
#define MAP_HUGE_2MB_	(21U << 26)
#define MAP_HUGE_1GB_	(30U << 26)
#define SHMEM_ENABLED	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"
#define CG		"/sys/fs/cgroup"
#define TESTCG		CG "/mshare-huge"

static bool thp;
static char old_shmem_enabled[32];

static void restore_shmem_enabled(void)
{
	if (old_shmem_enabled[0])
		proc_write(SHMEM_ENABLED, old_shmem_enabled);
}

static void shmem_enabled(const char *value)
{
	if (!old_shmem_enabled[0]) {
		const char *now = proc_read(SHMEM_ENABLED);
		const char *b = now ? strchr(now, '[') : NULL;
		const char *e = b ? strchr(b, ']') : NULL;

		CHECK(e && (size_t)(e - b - 1) < sizeof(old_shmem_enabled));
		memcpy(old_shmem_enabled, b + 1, (size_t)(e - b - 1));
		live_atexit(restore_shmem_enabled);
	}
	CHECKF(proc_write(SHMEM_ENABLED, value) == 0, "shmem_enabled=%s", value);
}

static int create_mapping(int fd, size_t off, size_t size, int prot, __u32 flags)
{
	struct mshare_create mc = {
		.region_offset = off, .size = size, .prot = prot, .flags = flags,
		.fd = (__u32)-1,
	};

	return ioctl(fd, MSHAREFS_CREATE_MAPPING, &mc);
}

static int unmap_range(int fd, size_t off, size_t size)
{
	struct mshare_unmap mu = { .region_offset = off, .size = size };

	return ioctl(fd, MSHAREFS_UNMAP, &mu);
}

static int protect_range(int fd, size_t off, size_t size, int prot)
{
	struct mshare_protect mp = { .region_offset = off, .size = size, .prot = prot };

	return ioctl(fd, MSHAREFS_PROTECT, &mp);
}

static struct msharefs_region_stat rstat(int fd)
{
	struct msharefs_region_stat st;

	EXPECT_OK(ioctl(fd, MSHAREFS_GET_REGION_STAT, &st));
	return st;
}

/* Read one byte of every page of [p, p + len): the faults it took. */
static long read_all_pages(const char *p, size_t len)
{
	long f0 = fault_count();

	for (size_t off = 0; off < len; off += 4096)
		(void)*(volatile const char *)(p + off);
	return fault_count() - f0;
}

static long pmd_kib(const void *w)
{
	return smaps_kib(w, "ShmemPmdMapped");
}

/* ---- pmd ---- */

static int child_reads(void *arg)
{
	char *w = arg;
	long faults = read_all_pages(w, SZ);

	if (verify_pattern(w, SZ, 20) != -1)
		return 2;
	/* One fault per granule, plus the registration of the process. */
	if (faults > NCH + 2)
		return 3;
	if (pmd_kib(w) != (long)(SZ / 1024))
		return 4;
	return probe_write(w + 3 * GRANULE + 8, 1) == 0 ? 0 : 5;
}

static void part_pmd(void)
{
	struct msharefs_region_stat st;
	long faults;
	char *w, *ro;
	int fd;

	if (!thp)
		return;
	shmem_enabled("always");
	fd = raw_create("pmd", SZ);
	w = raw_attach(fd, SZ, RW);
	faults = read_all_pages(w, SZ);
	fprintf(stderr, "  pmd: read %lu MiB: %ld faults, ShmemPmdMapped %ld kB\n",
		SZ / MIB, faults, pmd_kib(w));
	CHECKF(faults <= NCH + 2, "%ld faults to read %d granules", faults, NCH);
	CHECK(pmd_kib(w) == (long)(SZ / 1024));
	fill_pattern(w, SZ, 20);
	st = rstat(fd);
	CHECKF(st.resident_pages == SZ / 4096 && st.pt_tables == 0 && st.pt_links == 0,
	       "%llu pages, %llu tables, %llu links", (unsigned long long)st.resident_pages,
	       (unsigned long long)st.pt_tables, (unsigned long long)st.pt_links);
	/* Another attacher maps the same 2 MiB pages with PMD entries. */
	CHECK(run_child(child_reads, w) == 0);

	/* One page read-only: its granule gets a table, the page its protection. */
	EXPECT_OK(protect_range(fd, GRANULE + 4096, 4096, PROT_READ));
	CHECK(probe_write(w + GRANULE + 4096, 1) == SIGSEGV);
	CHECK(probe_write(w + GRANULE + 8192, 0x11) == 0);
	CHECK(probe_write(w + GRANULE, 0x12) == 0);
	read_all_pages(w, SZ);
	CHECKF(pmd_kib(w) == (long)((SZ - GRANULE) / 1024), "ShmemPmdMapped %ld kB", pmd_kib(w));
	CHECK(rstat(fd).pt_tables == 1);
	/* One state again (the region's default): a PMD entry again. */
	EXPECT_OK(protect_range(fd, GRANULE + 4096, 4096, RWX));
	read_all_pages(w, SZ);
	CHECK(pmd_kib(w) == (long)(SZ / 1024));
	CHECK(probe_write(w + GRANULE + 4096, 0x13) == 0);

	/* One page unmapped: SIGSEGV there, the rest of the granule intact. */
	fill_pattern(w + 2 * GRANULE, GRANULE, 22);
	EXPECT_OK(unmap_range(fd, 2 * GRANULE + 8192, 4096));
	CHECK(probe_read(w + 2 * GRANULE + 8192) == SIGSEGV);
	CHECK(verify_pattern(w + 2 * GRANULE, 8192, 22) == -1);
	CHECK(verify_pattern_part(w + 2 * GRANULE, 12288, GRANULE - 12288, 22) == -1);
	CHECK(pmd_kib(w) == (long)((SZ - GRANULE) / 1024));
	/* A new page there: zero, the neighbours kept. */
	EXPECT_OK(create_mapping(fd, 2 * GRANULE + 8192, 4096, RW, ANON));
	CHECK(verify_zero(w + 2 * GRANULE + 8192, 4096) == -1);
	CHECK(verify_pattern_part(w + 2 * GRANULE, 12288, GRANULE - 12288, 22) == -1);

	/* An executable window: a granule without PROT_EXEC is not one entry. */
	{
		char *x = raw_attach(fd, SZ, RWX);
		static const unsigned char ret7[] = { 0xb8, 7, 0, 0, 0, 0xc3 };

		read_all_pages(x, SZ);
		CHECK(pmd_kib(x) == (long)((SZ - GRANULE) / 1024));
		EXPECT_OK(protect_range(fd, 3 * GRANULE, GRANULE, RW));
		memcpy(w + 3 * GRANULE, ret7, sizeof(ret7));
		read_all_pages(x, SZ);
		CHECKF(pmd_kib(x) == (long)((SZ - 2 * GRANULE) / 1024),
		       "ShmemPmdMapped %ld kB in the executable window", pmd_kib(x));
		CHECK(pmd_kib(w) == (long)((SZ - 2 * GRANULE) / 1024) ||
		      pmd_kib(w) == (long)((SZ - GRANULE) / 1024));
		EXPECT_OK(protect_range(fd, 3 * GRANULE, GRANULE, RWX));
		__builtin___clear_cache(x + 3 * GRANULE, x + 3 * GRANULE + sizeof(ret7));
		CHECK(((int (*)(void))(void *)(x + 3 * GRANULE))() == 7);
		CHECK(munmap(x, SZ) == 0);
	}

	/* A read-only window: PMD entries, and never a write. */
	ro = raw_attach(fd, SZ, PROT_READ);
	read_all_pages(ro, SZ);
	CHECK(pmd_kib(ro) > 0);
	CHECK(probe_write(ro, 1) == SIGSEGV);
	CHECK(munmap(ro, SZ) == 0);

	/* MADV_NOHUGEPAGE: the process's choice, tables instead. */
	EXPECT_OK(madvise(w, SZ, MADV_NOHUGEPAGE));
	EXPECT_OK(madvise(w, SZ, MADV_DONTNEED));
	read_all_pages(w, SZ);
	CHECKF(pmd_kib(w) == 0, "ShmemPmdMapped %ld kB after MADV_NOHUGEPAGE", pmd_kib(w));
	CHECK(rstat(fd).pt_links > 0);
	CHECK(verify_pattern(w, GRANULE, 20) == -1);
	CHECK(munmap(w, SZ) == 0);
	/* prctl(PR_SET_THP_DISABLE) likewise. */
	CHECK(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0);
	w = raw_attach(fd, SZ, RW);
	read_all_pages(w, SZ);
	CHECK(pmd_kib(w) == 0);
	CHECK(prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0) == 0);
	CHECK(munmap(w, SZ) == 0);
	CHECK(close(fd) == 0);
	CHECK(unlink(mpath("pmd")) == 0);
}

/* ---- a memory cgroup for the creator ---- */

static void cg_join(const char *cg)
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
}

static long cg_long(const char *file, const char *key)
{
	char path[128];
	const char *text, *p;

	snprintf(path, sizeof(path), "%s/%s", TESTCG, file);
	text = proc_read(path);
	CHECKF(text != NULL, "read %s", path);
	if (!key)
		return strtoll(text, NULL, 10);
	p = strstr(text, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* Join a fresh cgroup whose memory.max leaves @room bytes above its use. */
static void cg_enter_with_room(long room)
{
	char lim[32];

	if (access(CG "/cgroup.controllers", F_OK))
		CHECK(mount("none", CG, "cgroup2", 0, NULL) == 0);
	CHECK(proc_write(CG "/cgroup.subtree_control", "+memory") == 0);
	CHECK(mkdir(TESTCG, 0755) == 0 || errno == EEXIST);
	live_atexit(cg_cleanup);
	cg_join(TESTCG);
	snprintf(lim, sizeof(lim), "%ld", cg_long("memory.current", NULL) + room);
	CHECK(proc_write(TESTCG "/memory.max", lim) == 0);
}

static void cg_leave(void)
{
	CHECK(proc_write(TESTCG "/memory.max", "max") == 0);
	cg_join(CG);
}

/* ---- fallback ---- */

static void part_fallback(void)
{
	char path[64];
	int fd, memfd;
	char *w;

	if (!thp)
		return;
	shmem_enabled("always");
	cg_enter_with_room(1 * MIB);
	fd = raw_create("fallback", SZ);
	w = raw_attach(fd, SZ, RW);
	/*
	 * A write through /proc/self/mem into an untouched window: a fault
	 * that may not wait, served a page at a time.  No room for 2 MiB:
	 * shmem falls back to a 4 KiB page.
	 */
	snprintf(path, sizeof(path), "/proc/self/mem");
	memfd = EXPECT_OK(open(path, O_RDWR));
	CHECK(pwrite(memfd, "x", 1, (off_t)(uintptr_t)(w + 4096)) == 1);
	close(memfd);
	fprintf(stderr, "  fallback: shmem_thp %ld, resident %llu pages\n",
		cg_long("memory.stat", "shmem_thp "),
		(unsigned long long)rstat(fd).resident_pages);
	CHECK(w[4096] == 'x');
	CHECK(cg_long("memory.stat", "shmem_thp ") == 0);
	CHECK(rstat(fd).resident_pages < CHUNK_PAGES);
	CHECK(pmd_kib(w) == 0);
	cg_leave();
	/* With room again, the next granule is a 2 MiB page. */
	read_all_pages(w + 2 * GRANULE, GRANULE);
	CHECK(pmd_kib(w) == (long)(GRANULE / 1024));
	CHECK(w[4096] == 'x');
	CHECK(munmap(w, SZ) == 0);
	CHECK(close(fd) == 0);
	CHECK(unlink(mpath("fallback")) == 0);
}

/* ---- hugetlb ---- */

static void part_hugetlb(void)
{
	struct msharefs_region_stat st;
	long huge0;
	char *w;
	int fd;

	fd = raw_create("hugetlb", SZ);
	if (!thp) {
		EXPECT_ERRNO(create_mapping(fd, 0, GRANULE, RW, HUGETLB), EOPNOTSUPP);
		EXPECT_ERRNO(create_mapping(fd, 0, GRANULE, RW, HUGETLB | MAP_HUGE_2MB_),
			     EOPNOTSUPP);
		CHECK(close(fd) == 0);
		CHECK(unlink(mpath("hugetlb")) == 0);
		return;
	}
	shmem_enabled("never");
	huge0 = meminfo_kib("ShmemHugePages");
	w = raw_attach(fd, SZ, RW);
	fill_pattern(w, SZ, 30);
	/* 4 MiB at 2 MiB: allocated by the request, whole 2 MiB pages. */
	EXPECT_OK(create_mapping(fd, GRANULE, 2 * GRANULE, RW, HUGETLB | MAP_HUGE_2MB_));
	st = rstat(fd);
	fprintf(stderr, "  hugetlb: ShmemHugePages %+ld kB, resident %llu pages\n",
		meminfo_kib("ShmemHugePages") - huge0, (unsigned long long)st.resident_pages);
	CHECK(meminfo_kib("ShmemHugePages") - huge0 >= 4096);
	CHECK(st.resident_pages == SZ / 4096);
	CHECK(verify_zero(w + GRANULE, 2 * GRANULE) == -1);
	CHECK(verify_pattern(w, GRANULE, 30) == -1);
	CHECK(pmd_kib(w) == 4096);
	fill_pattern(w + GRANULE, 2 * GRANULE, 31);

	/* Whole granules only. */
	EXPECT_ERRNO(create_mapping(fd, 4096, GRANULE, RW, HUGETLB), EINVAL);
	EXPECT_ERRNO(create_mapping(fd, 0, GRANULE, RW, HUGETLB | MAP_HUGE_1GB_), EINVAL);
	EXPECT_ERRNO(create_mapping(fd, 0, GRANULE, RW, ANON | MAP_HUGE_2MB_), EINVAL);
	EXPECT_ERRNO(unmap_range(fd, GRANULE + 4096, 4096), EINVAL);
	EXPECT_ERRNO(unmap_range(fd, GRANULE, GRANULE + 4096), EINVAL);
	EXPECT_ERRNO(protect_range(fd, 2 * GRANULE, 4096, PROT_READ), EINVAL);
	EXPECT_ERRNO(create_mapping(fd, GRANULE / 2, GRANULE, RW, ANON), EINVAL);
	CHECK(verify_pattern(w + GRANULE, 2 * GRANULE, 31) == -1);
	/* Whole granules: fine.  PROTECT keeps the 2 MiB page and its bytes. */
	EXPECT_OK(protect_range(fd, 2 * GRANULE, GRANULE, PROT_READ));
	CHECK(probe_write(w + 2 * GRANULE, 1) == SIGSEGV);
	CHECK(verify_pattern(w + GRANULE, 2 * GRANULE, 31) == -1);
	/* Again over MAP_HUGETLB memory: kept, zeroed. */
	EXPECT_OK(create_mapping(fd, GRANULE, 2 * GRANULE, RW, HUGETLB));
	CHECK(verify_zero(w + GRANULE, 2 * GRANULE) == -1);
	/* A size that is not a multiple: rounded up, as mmap(MAP_HUGETLB). */
	EXPECT_OK(create_mapping(fd, 3 * GRANULE, 4096, RW, HUGETLB));
	CHECK(probe_write(w + 3 * GRANULE + GRANULE - 1, 1) == 0);
	CHECK(pmd_kib(w) >= 6144);
	/* UNMAP frees them. */
	EXPECT_OK(unmap_range(fd, GRANULE, 3 * GRANULE));
	CHECK(rstat(fd).resident_pages == CHUNK_PAGES);
	CHECK(probe_read(w + 2 * GRANULE) == SIGSEGV);

	/* No room in the creator's cgroup: ENOMEM, and nothing changed. */
	EXPECT_OK(create_mapping(fd, GRANULE, GRANULE, RW, ANON));
	fill_pattern(w + GRANULE, GRANULE, 32);
	CHECK(munmap(w, SZ) == 0);
	CHECK(close(fd) == 0);
	CHECK(unlink(mpath("hugetlb")) == 0);

	/* Room for one granule of 4 KiB pages, not for two 2 MiB pages. */
	cg_enter_with_room(3 * MIB);
	fd = raw_create("hugetlb", SZ);
	cg_join(CG);
	w = raw_attach(fd, SZ, RW);
	EXPECT_OK(create_mapping(fd, 0, GRANULE, RW, ANON));
	w[0] = 'k';
	EXPECT_ERRNO(create_mapping(fd, 0, 2 * GRANULE, RW, HUGETLB), ENOMEM);
	CHECK(w[0] == 'k');
	CHECK(rstat(fd).resident_pages == CHUNK_PAGES);
	CHECK(munmap(w, SZ) == 0);
	CHECK(close(fd) == 0);
	CHECK(unlink(mpath("hugetlb")) == 0);
	cg_leave();
}

/* ---- mountopt ---- */

static int m2_create(const char *name)
{
	int fd = EXPECT_OK(open(p2(name), O_RDWR | O_CREAT | O_EXCL, 0600));

	EXPECT_OK(ftruncate(fd, GRANULE));
	return fd;
}

/* Whether the region at fd gets a 2 MiB page for its first granule. */
static bool gets_huge(int fd)
{
	char *w = raw_attach(fd, GRANULE, RW);
	bool huge;

	w[0] = 1;
	huge = pmd_kib(w) == 2048;
	CHECK(munmap(w, GRANULE) == 0);
	return huge;
}

static void m2_umount(void)
{
	CHECK(umount(m2) == 0);
	m2_mounted = false;
}

static void part_mountopt(void)
{
	const char *mounts;
	int fd, fd2;

	mount2_dir();
	if (!thp) {
		EXPECT_ERRNO(mount("none", m2, MSHAREFS_FSTYPE, 0, "huge=always"), EINVAL);
		EXPECT_ERRNO(mount("none", m2, MSHAREFS_FSTYPE, 0, "huge=within_size"), EINVAL);
		EXPECT_OK(mount("none", m2, MSHAREFS_FSTYPE, 0, "huge=never"));
		m2_mounted = true;
		m2_umount();
		return;
	}
	shmem_enabled("never");
	EXPECT_OK(mount("none", m2, MSHAREFS_FSTYPE, 0, "huge=always"));
	m2_mounted = true;
	mounts = proc_read("/proc/self/mounts");
	CHECKF(mounts && strstr(mounts, "huge=always"), "/proc/mounts: %s", mounts);
	fd = m2_create("a");
	CHECK(gets_huge(fd));
	/* A remount changes it for regions sized afterwards. */
	EXPECT_OK(mount("none", m2, NULL, MS_REMOUNT, "huge=never"));
	fd2 = m2_create("b");
	CHECK(!gets_huge(fd2));
	CHECK(close(fd2) == 0);
	CHECK(unlink(p2("b")) == 0);
	CHECK(close(fd) == 0);
	CHECK(unlink(p2("a")) == 0);
	m2_umount();

	shmem_enabled("always");
	EXPECT_OK(mount("none", m2, MSHAREFS_FSTYPE, 0, "huge=never"));
	m2_mounted = true;
	fd = m2_create("c");
	CHECK(!gets_huge(fd));
	CHECK(close(fd) == 0);
	CHECK(unlink(p2("c")) == 0);
	m2_umount();

	shmem_enabled("never");
	EXPECT_OK(mount("none", m2, MSHAREFS_FSTYPE, 0, "huge=within_size"));
	m2_mounted = true;
	fd = m2_create("d");
	CHECK(gets_huge(fd));
	CHECK(close(fd) == 0);
	CHECK(unlink(p2("d")) == 0);
	m2_umount();
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
	live_init("live-huge");
	thp = shmem_thp_works();
	fprintf(stderr, "  2 MiB pages for shared memory: %s\n", thp ? "yes" :
		"no (no THP, or a page cache too small for them)");
	if (want(argc, argv, "pmd"))
		part_pmd();
	if (want(argc, argv, "fallback"))
		part_fallback();
	if (want(argc, argv, "hugetlb"))
		part_hugetlb();
	if (want(argc, argv, "mountopt"))
		part_mountopt();
	live_done();
}
