// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-procfs: the /proc readers that walk page tables see shared tables
 * as they are.  A 16 MiB (8-chunk) region, attached by the test (RW), a
 * fork child (RW), an exec'd O_RDONLY attacher, and one that never
 * touches its window:
 * - /proc/PID/smaps: the window's entry parses, Size is 16384 kB, Rss is
 *   16384 kB for a linked window (a linked table maps all 512 pages of
 *   its chunk), 0 for the untouched one, 2048 kB once it touched one
 *   chunk, 0 for the test after MADV_DONTNEED while the others keep
 *   theirs; Anonymous is 0; smaps_rollup parses;
 * - /proc/PID/pagemap (read as root): present bits as above, PFNs
 *   identical across attachers (RW and read-only sets alike) and all
 *   distinct within the window;
 * - /proc/PID/numa_maps: N0=4096 (pages per node) for a linked window;
 * - mincore(): resident where linked, not after MADV_DONTNEED;
 * - /proc/PID/maps names the region.
 */
#include "agent.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SZ		(16 * MIB)
#define NPG		((long)(SZ / 4096))
#define RW		(PROT_READ | PROT_WRITE)
#define PM_PRESENT	(1ULL << 63)
#define PM_PFN		((1ULL << 55) - 1)

/* "Key:   N kB" of the smaps entry starting at addr; -1 if no such entry. */
static long smaps_field(pid_t pid, const void *addr, const char *key)
{
	char path[64], line[512];
	unsigned long a = (unsigned long)addr, s, e;
	bool in = false;
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {	/* an entry's first line */
			in = s == a;
			continue;
		}
		if (in && !strncmp(line, key, strlen(key)) && line[strlen(key)] == ':') {
			v = strtol(line + strlen(key) + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static void check_smaps(pid_t pid, const void *addr, long want_rss, const char *who)
{
	long size = smaps_field(pid, addr, "Size"), rss = smaps_field(pid, addr, "Rss");
	long anon = smaps_field(pid, addr, "Anonymous"), pss = smaps_field(pid, addr, "Pss");

	fprintf(stderr, "  smaps %s: Size %ld Rss %ld Pss %ld Anonymous %ld kB\n", who, size, rss,
		pss, anon);
	CHECKF(size == (long)(SZ / 1024), "%s: smaps Size %ld kB", who, size);
	CHECKF(rss == want_rss, "%s: smaps Rss %ld kB, want %ld", who, rss, want_rss);
	CHECKF(anon == 0, "%s: smaps Anonymous %ld kB", who, anon);
	CHECKF(pss >= 0 && pss <= rss, "%s: smaps Pss %ld kB", who, pss);
}

static void pagemap(pid_t pid, const void *addr, uint64_t *out)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = EXPECT_OK(open(path, O_RDONLY | O_CLOEXEC));
	CHECK(pread(fd, out, NPG * 8, (off_t)((uintptr_t)addr / 4096 * 8)) == (ssize_t)(NPG * 8));
	close(fd);
}

static long present(const uint64_t *pm, long first, long n)
{
	long c = 0;

	for (long i = first; i < first + n; i++)
		c += !!(pm[i] & PM_PRESENT);
	return c;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static long numa_mapped(pid_t pid, const void *addr)
{
	char path[64], line[1024], key[32];
	FILE *f;
	long v = -1;

	snprintf(path, sizeof(path), "/proc/%d/numa_maps", (int)pid);
	snprintf(key, sizeof(key), "%lx ", (unsigned long)addr);
	f = fopen(path, "r");
	if (!f)
		return -2;	/* no NUMA */
	while (fgets(line, sizeof(line), f)) {
		char *m;

		if (strncmp(line, key, strlen(key)))
			continue;
		CHECKF(strstr(line, "file=" MNT "/procfs"), "numa_maps: %s", line);
		fprintf(stderr, "  numa_maps: %s", line);
		/* pages per node: " N0=4096" */
		v = 0;
		for (m = strstr(line, " N"); m; m = strstr(m + 1, " N")) {
			char *eq = strchr(m, '=');

			if (eq && eq - m <= 5)
				v += atol(eq + 1);
		}
	}
	fclose(f);
	return v;
}

int main(void)
{
	static uint64_t pm_t[NPG], pm_a[NPG], pm_b[NPG], pm_c[NPG], sorted[NPG];
	struct agent a, b, c;
	unsigned char vec[NPG];
	long n, m;
	char *w;
	int fd;

	live_init("live-procfs");
	fd = raw_create("procfs", SZ);
	w = raw_attach(fd, SZ, RW);
	fill_pattern(w, SZ, 1);
	agent_fork(&a, "A(fork,rw)");
	AGENT(&a, "open procfs rw");
	AGENT(&a, "attach rw");
	AGENT(&a, "touch r");
	agent_exec(&b, "B(exec,O_RDONLY)");
	AGENT(&b, "open procfs ro");
	AGENT(&b, "attach r");
	AGENT(&b, "touch r");
	agent_exec(&c, "C(exec,untouched)");
	AGENT(&c, "open procfs rw");
	AGENT(&c, "attach rw");

	/* ---- maps ---- */
	CHECK(maps_has(w, SZ));

	/* ---- smaps ---- */
	check_smaps(getpid(), w, SZ / 1024, "test");
	check_smaps(a.pid, a.addr, SZ / 1024, a.name);
	check_smaps(b.pid, b.addr, SZ / 1024, b.name);
	check_smaps(c.pid, c.addr, 0, c.name);
	CHECK(reply_num(AGENT(&c, "probe r 4096"), 0) == 0);
	check_smaps(c.pid, c.addr, GRANULE / 1024, "C after touching chunk 0");
	{
		const char *roll = proc_read("/proc/self/smaps_rollup");

		CHECKF(roll && strstr(roll, "Rss:"), "smaps_rollup: %s", roll ? roll : "(none)");
	}

	/* ---- pagemap ---- */
	pagemap(getpid(), w, pm_t);
	pagemap(a.pid, a.addr, pm_a);
	pagemap(b.pid, b.addr, pm_b);
	pagemap(c.pid, c.addr, pm_c);
	CHECKF((n = present(pm_t, 0, NPG)) == NPG, "test: %ld of %ld pages present", n, NPG);
	CHECKF((n = present(pm_a, 0, NPG)) == NPG, "A: %ld of %ld pages present", n, NPG);
	CHECKF((n = present(pm_b, 0, NPG)) == NPG, "B: %ld of %ld pages present", n, NPG);
	CHECKF((n = present(pm_c, 0, 512)) == 512 && (m = present(pm_c, 512, NPG - 512)) == 0,
	       "C (touched chunk 0 only): %ld and %ld pages present", n, present(pm_c, 512, NPG - 512));
	for (long i = 0; i < NPG; i++) {
		uint64_t pfn = pm_t[i] & PM_PFN;

		CHECKF(pfn != 0, "page %ld: no PFN in pagemap (as root)", i);
		CHECKF((pm_a[i] & PM_PFN) == pfn && (pm_b[i] & PM_PFN) == pfn,
		       "page %ld: PFN %#llx (test) %#llx (A) %#llx (B)", i,
		       (unsigned long long)pfn, (unsigned long long)(pm_a[i] & PM_PFN),
		       (unsigned long long)(pm_b[i] & PM_PFN));
		if (i < 512)
			CHECK((pm_c[i] & PM_PFN) == pfn);
		sorted[i] = pfn;
	}
	qsort(sorted, NPG, 8, cmp_u64);
	for (long i = 1; i < NPG; i++)
		CHECKF(sorted[i] != sorted[i - 1], "PFN %#llx maps two pages of the window",
		       (unsigned long long)sorted[i]);

	/* ---- numa_maps ---- */
	n = numa_mapped(getpid(), w);
	if (n != -2)
		CHECKF(n == NPG, "numa_maps of a linked window: %ld pages on the nodes, want %ld",
		       n, NPG);

	/* ---- mincore ---- */
	CHECK(mincore(w, SZ, vec) == 0);
	for (long i = 0; i < NPG; i++)
		CHECKF(vec[i] & 1, "mincore: page %ld of a linked window not resident", i);

	/* ---- the test unlinks its tables: only its view changes ---- */
	CHECK(madvise(w, SZ, MADV_DONTNEED) == 0);
	check_smaps(getpid(), w, 0, "test after MADV_DONTNEED");
	check_smaps(a.pid, a.addr, SZ / 1024, "A after the test's MADV_DONTNEED");
	pagemap(getpid(), w, pm_t);
	CHECK(present(pm_t, 0, NPG) == 0);
	pagemap(a.pid, a.addr, pm_a);
	CHECK(present(pm_a, 0, NPG) == NPG);
	CHECK(mincore(w, SZ, vec) == 0);
	n = 0;
	for (long i = 0; i < NPG; i++)
		n += vec[i] & 1;
	fprintf(stderr, "  mincore after MADV_DONTNEED: %ld pages resident\n", n);
	CHECK(verify_pattern(w, SZ, 1) == -1);
	check_smaps(getpid(), w, SZ / 1024, "test re-linked");
	CHECK(reply_num(AGENT(&a, "verify 1"), 0) == 0);
	CHECK(reply_num(AGENT(&b, "verify 1"), 0) == 0);

	/* the other per-mm walkers, just read: nothing may complain */
	for (int i = 0; i < 3; i++) {
		static const char *const files[] = { "smaps", "numa_maps", "smaps_rollup" };
		pid_t pids[] = { a.pid, b.pid, c.pid };
		char path[64];

		for (int j = 0; j < 3; j++) {
			snprintf(path, sizeof(path), "/proc/%d/%s", (int)pids[i], files[j]);
			(void)proc_read(path);
		}
	}

	agent_stop(&a);
	agent_stop(&b);
	agent_stop(&c);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("procfs")) == 0);
	live_done();
}
