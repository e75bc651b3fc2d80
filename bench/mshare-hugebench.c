// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare-hugebench: random access to shared memory in steady state, with
 * 4 KiB pages and with 2 MiB pages: an msharefs region of each (shared
 * page tables; PMD entries for 2 MiB pages), memfd (MAP_SHARED, shmem) of
 * each, and hugetlbfs (memfd MFD_HUGETLB, the hugetlb pool).
 *
 *   mshare-hugebench [-s SIZE] [-r ROUNDS] [-a ACCESSES] [-m DIR]
 *
 *   -s SIZE      bytes per backend (default 512M; K/M/G; a multiple of 2M)
 *   -r ROUNDS    interleaved rounds (default 9); the median is reported
 *   -a ACCESSES  random 8-byte reads, and as many writes, per backend and
 *                round (default 2000000)
 *   -m DIR       where to mount the two msharefs instances (default /tmp)
 *
 * Needs root (mounts, sysctls), msharefs and transparent huge pages for
 * shmem.  It mounts msharefs twice, with huge=never and huge=always, sets
 * /sys/kernel/mm/transparent_hugepage/shmem_enabled to never, then always,
 * while it fills the two memfds, and vm.nr_hugepages to what hugetlbfs
 * needs; it puts all of it back.  One process attaches everything and
 * writes every page once; then, in each round, every backend in turn (the
 * order rotates, so that a slow moment of the host hits them alike) gets
 * ACCESSES reads at random offsets, then as many writes, each pass timed.
 * Before the rounds, the touch of every page of every backend is timed and
 * its page faults counted, and /proc/self/smaps says how each is mapped.
 *
 * Output: markdown on stdout, progress on stderr.  Exit status: 0 done, 1
 * a measurement failed (a system call, wrong data), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/msharefs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB		(1024UL * 1024)
#define HUGE		(2 * MIB)
#define SHMEM_ENABLED	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"
#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"
#define MAX_ROUNDS	64

#ifndef MFD_HUGETLB
#define MFD_HUGETLB	0x0004U
#endif
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB	(21U << 26)
#endif

enum backend { B_REGION4K, B_REGION2M, B_MEMFD4K, B_MEMFD2M, B_HUGETLBFS, NB };

static const char *const name[NB] = {
	"msharefs, 4 KiB pages", "msharefs, 2 MiB pages", "memfd, 4 KiB pages",
	"memfd, 2 MiB pages (THP)", "hugetlbfs (memfd MFD_HUGETLB)",
};

static size_t size = 512 * MIB;
static int rounds = 9;
static long accesses = 2000000;
static const char *mdir = "/tmp";
static char mnt[2][256];
static bool mounted[2];
static char old_shmem[32], old_nr[32];

static void cleanup(void)
{
	for (int i = 0; i < 2; i++)
		if (mounted[i])
			umount2(mnt[i], MNT_DETACH);
	for (int i = 0; i < 2; i++)
		rmdir(mnt[i]);
	if (old_shmem[0]) {
		int fd = open(SHMEM_ENABLED, O_WRONLY);

		if (fd >= 0) {
			(void)!write(fd, old_shmem, strlen(old_shmem));
			close(fd);
		}
	}
	if (old_nr[0]) {
		int fd = open(NR_HUGEPAGES, O_WRONLY);

		if (fd >= 0) {
			(void)!write(fd, old_nr, strlen(old_nr));
			close(fd);
		}
	}
}

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "mshare-hugebench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, err ? ": %s\n" : "\n", strerror(err));
	cleanup();
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static long faults_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die("write %s to %s", text, path);
	close(fd);
}

static void get(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		die("open %s", path);
	n = read(fd, buf, len - 1);
	if (n < 0)
		die("read %s", path);
	buf[n] = 0;
	close(fd);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
}

/* The bracketed word of shmem_enabled ("always [never] ..."). */
static void current_shmem(char *out, size_t len)
{
	char buf[256], *b, *e;

	get(SHMEM_ENABLED, buf, sizeof(buf));
	b = strchr(buf, '[');
	e = b ? strchr(b, ']') : NULL;
	if (!e || (size_t)(e - b) >= len)
		die("cannot parse %s: %s", SHMEM_ENABLED, buf);
	memcpy(out, b + 1, (size_t)(e - b - 1));
	out[e - b - 1] = 0;
}

/* "KEY: N kB" of the mapping at p in /proc/self/smaps. */
static long smaps_kb(const void *p, const char *key)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[256];
	unsigned long s, e;
	bool in = false;
	long v = -1;

	if (!f)
		die("/proc/self/smaps");
	while (fgets(line, sizeof(line), f)) {
		const char *sp = strchr(line, ' ');

		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && sp && sp[-1] != ':')
			in = s == (unsigned long)p;
		else if (in && !strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			v = strtol(line + strlen(key) + 1, NULL, 10);
	}
	fclose(f);
	return v;
}

static char *attach_region(int m)
{
	char path[300];
	char *p;
	int fd;

	snprintf(path, sizeof(path), "%s/bench", mnt[m]);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size))
		die("create %s", path);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("attach %s", path);
	close(fd);
	unlink(path);
	return p;
}

static char *map_memfd(unsigned int flags)
{
	int fd = memfd_create("mshare-hugebench", flags | MFD_CLOEXEC);
	char *p;

	if (fd < 0 || ftruncate(fd, (off_t)size))
		die("memfd_create(%#x)", flags);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap memfd(%#x)", flags);
	close(fd);
	return p;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static __attribute__((noinline)) uint64_t rand_reads(const char *p, uint64_t seed)
{
	uint64_t s = seed, sum = 0, mask = size - 1;

	for (long i = 0; i < accesses; i++)
		sum += *(const volatile uint64_t *)(p + (xorshift(&s) & mask & ~7UL));
	return sum;
}

static __attribute__((noinline)) void rand_writes(char *p, uint64_t seed)
{
	uint64_t s = seed, mask = size - 1;

	for (long i = 0; i < accesses; i++) {
		uint64_t r = xorshift(&s);

		*(volatile uint64_t *)(p + (r & mask & ~7UL)) = r;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static size_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	size_t mult = 1;

	switch (*end) {
	case 'k': case 'K': mult = 1024; end++; break;
	case 'm': case 'M': mult = MIB; end++; break;
	case 'g': case 'G': mult = 1024 * MIB; end++; break;
	}
	return *end || v <= 0 ? 0 : (size_t)(v * (double)mult);
}

int main(int argc, char **argv)
{
	uint64_t rd[NB][MAX_ROUNDS], wr[NB][MAX_ROUNDS], touch_ns[NB];
	long touch_faults[NB], pmd_kb[NB];
	char *p[NB], buf[64];
	int opt;

	while ((opt = getopt(argc, argv, "s:r:a:m:h")) != -1) {
		switch (opt) {
		case 's': size = parse_size(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'a': accesses = atol(optarg); break;
		case 'm': mdir = optarg; break;
		default:
			fprintf(stderr, "usage: mshare-hugebench [-s SIZE] [-r ROUNDS] [-a ACCESSES] [-m DIR]\n");
			return 2;
		}
	}
	/* A power of two: the random offsets are masked. */
	if (!size || (size & (size - 1)) || size < HUGE || rounds < 1 ||
	    rounds > MAX_ROUNDS || accesses < 1) {
		fprintf(stderr, "mshare-hugebench: SIZE must be a power of two >= 2M, 1 <= ROUNDS <= %d\n",
			MAX_ROUNDS);
		return 2;
	}
	if (access(SHMEM_ENABLED, F_OK))
		die("no transparent huge pages for shmem in this kernel");
	current_shmem(old_shmem, sizeof(old_shmem));
	get(NR_HUGEPAGES, old_nr, sizeof(old_nr));

	/* Two msharefs instances: huge=never and huge=always. */
	for (int i = 0; i < 2; i++) {
		snprintf(mnt[i], sizeof(mnt[i]), "%s/hugebench-%d-XXXXXX", mdir, i);
		if (!mkdtemp(mnt[i]))
			die("mkdtemp %s", mnt[i]);
		if (mount("none", mnt[i], "msharefs", 0, i ? "huge=always" : "huge=never"))
			die("mount msharefs on %s", mnt[i]);
		mounted[i] = true;
	}
	put(SHMEM_ENABLED, "never");
	p[B_REGION4K] = attach_region(0);
	p[B_REGION2M] = attach_region(1);
	p[B_MEMFD4K] = map_memfd(0);
	snprintf(buf, sizeof(buf), "%lu", strtoul(old_nr, NULL, 10) + size / HUGE);
	put(NR_HUGEPAGES, buf);
	p[B_HUGETLBFS] = map_memfd(MFD_HUGETLB | MFD_HUGE_2MB);

	/* Every page written once; the memfd of 2 MiB pages filled under "always". */
	for (int b = 0; b < NB; b++) {
		long f0;
		uint64_t t0;

		if (b == B_MEMFD2M) {
			put(SHMEM_ENABLED, "always");
			p[b] = map_memfd(0);
		}
		fprintf(stderr, "mshare-hugebench: touching %s\n", name[b]);
		f0 = faults_now();
		t0 = now_ns();
		for (size_t off = 0; off < size; off += 4096)
			*(volatile uint64_t *)(p[b] + off) = off;
		touch_ns[b] = now_ns() - t0;
		touch_faults[b] = faults_now() - f0;
		if (b == B_MEMFD2M)
			put(SHMEM_ENABLED, "never");
		pmd_kb[b] = b == B_HUGETLBFS ? smaps_kb(p[b], "Private_Hugetlb") +
					      smaps_kb(p[b], "Shared_Hugetlb") :
			    smaps_kb(p[b], "ShmemPmdMapped");
	}
	for (int b = 0; b < NB; b++)
		for (size_t off = 0; off < size; off += 4096)
			if (*(uint64_t *)(p[b] + off) != off)
				die("%s: wrong data at %#zx", name[b], off);

	for (int r = 0; r < rounds; r++) {
		fprintf(stderr, "mshare-hugebench: round %d/%d\n", r + 1, rounds);
		for (int k = 0; k < NB; k++) {
			int b = (k + r) % NB;
			uint64_t t0 = now_ns(), sink;

			sink = rand_reads(p[b], 0x9e3779b97f4a7c15ULL + (uint64_t)r);
			rd[b][r] = now_ns() - t0;
			t0 = now_ns();
			rand_writes(p[b], 0x1234567ULL + (uint64_t)r + sink % 2);
			wr[b][r] = now_ns() - t0;
		}
	}

	printf("### Random access, steady state (%zu MiB per backend, %d rounds of %ld reads and %ld writes)\n\n",
	       size / MIB, rounds, accesses, accesses);
	printf("| backend | mapped by 2 MiB entries | first touch: faults | first touch | random read | random write | read vs memfd 4 KiB | write vs memfd 4 KiB |\n");
	printf("|---|--:|--:|--:|--:|--:|--:|--:|\n");
	{
		uint64_t mrd[NB], mwr[NB];

		for (int b = 0; b < NB; b++) {
			mrd[b] = median(rd[b], rounds);
			mwr[b] = median(wr[b], rounds);
		}
		for (int b = 0; b < NB; b++)
			printf("| %s | %ld MiB | %ld | %.0f ms | %.1f ns | %.1f ns | %.2f | %.2f |\n",
			       name[b], pmd_kb[b] < 0 ? 0 : pmd_kb[b] / 1024, touch_faults[b],
			       (double)touch_ns[b] / 1e6, (double)mrd[b] / (double)accesses,
			       (double)mwr[b] / (double)accesses,
			       (double)mrd[b] / (double)mrd[B_MEMFD4K],
			       (double)mwr[b] / (double)mwr[B_MEMFD4K]);
	}
	printf("\nRatios: medians of each backend over the rounds, divided by memfd's with 4 KiB pages (lower is faster).\n");
	for (int b = 0; b < NB; b++)
		munmap(p[b], size);
	cleanup();
	return 0;
}
