// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare-bench: what N processes that attach the same memory pay for it,
 * with msharefs (shared page tables), memfd (MAP_SHARED) and SysV shm.
 *
 *   mshare-bench [-s SIZE] [-n N,N,...] [-b BACKEND,...] [-p PASSES]
 *                [-r ROUNDS] [-S SIZE] [-x N] [-c BACKEND:N:SIZE]...
 *                [-g GROUPS] [-q]
 *
 *   -s SIZE     region size (default 1G; K/M/G suffixes; a multiple of 2M)
 *   -n LIST     attacher counts (default 1,2,8,32,128)
 *   -b LIST     backends: msharefs, memfd, sysv (default all three)
 *   -p PASSES   steady-state passes per row, by the last attacher of each
 *               backend (default 3; 0 = none); the median is reported
 *   -r ROUNDS   interleaved steady-state rounds (default 7; 0 = skip): one
 *               process attaches a region of every backend, read and write
 *               passes going from one backend to the next every 32 MiB
 *   -S SIZE     region size for the interleaved steady state (default -s)
 *   -x N        scale run: N msharefs attachers of -s bytes each touching
 *               every page (0 = skip, the default); memfd extrapolated
 *   -c B:N:SIZE use SIZE instead of -s for backend B at N attachers (for
 *               rows too slow or too big at full size; repeatable)
 *   -g GROUPS   backends measured together, their attachers taking turns
 *               (default msharefs+memfd,sysv: all regions of a group exist
 *               at once, so a group of three needs 3 x SIZE of memory)
 *   -q          quick: the floor verdict is not judged (for demos)
 *
 * Per row (N, and a group of backends): the parent creates the regions and
 * writes every page once (so contents exist for every backend), detaches,
 * then forks N attachers per backend, which all stay alive until the row is
 * done.  The attachers go one at a time, the backends taking turns: each
 * attaches (mattach / mmap / shmat) and reads one word per 4 KiB page
 * (checking it), timing attach+touch and counting its page faults
 * (getrusage); then it runs the same touch loop again over its now attached
 * region (the floor).  Every timed pass starts with an empty TLB (see
 * tlb_flush()).  /proc/meminfo PageTables is read between every two
 * attachers: the first attacher's cost, and the mean of attachers 2..N.
 * Then the last attacher of each backend times read and write passes over
 * its region, and the first checks it sees the last one's writes.
 *
 * Output: markdown tables on stdout, progress on stderr.
 * Exit status: 0 done (targets met or not), 1 a measurement failed (wrong
 * data, a child died, a system call failed), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libmshare.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096UL
#define KIB		1024UL
#define MIB		(1024UL * KIB)
#define GIB		(1024UL * MIB)
#define CHUNK		(2 * MIB)	/* msharefs granule: one PTE table */
#define MAX_NS		16
#define MAX_CAPS	16
#define MAX_PASSES	64
#define OP_TIMEOUT_S	1800
/*
 * Steady-state passes go segment by segment, the backends taking turns
 * every segment: the host (TCG shares it) changes speed from one second to
 * the next, and every backend should see the same mix.
 */
#define SEG		(32 * MIB)

enum backend { B_MSHAREFS, B_MEMFD, B_SYSV, NR_BACKENDS };
static const char *const backend_name[NR_BACKENDS] = {
	"msharefs", "memfd", "sysv"
};

/* ---- options --------------------------------------------------------- */

static size_t opt_size = GIB;
static int opt_ns[MAX_NS] = { 1, 2, 8, 32, 128 };
static int opt_nr_ns = 5;
static bool opt_backend[NR_BACKENDS] = { true, true, true };
static int opt_passes = 3;
static int opt_rounds = 7;
static size_t opt_steady_size;
static int opt_scale;
static bool opt_quick;
static struct cap { enum backend b; int n; size_t size; } opt_caps[MAX_CAPS];
static int opt_nr_caps;
/* Backends measured together (attachers interleaved), as bit masks. */
static unsigned int opt_groups[NR_BACKENDS] = {
	1U << B_MSHAREFS | 1U << B_MEMFD, 1U << B_SYSV
};
static int opt_nr_groups = 2;

/* ---- small helpers ---------------------------------------------------- */

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "mshare-bench[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	fflush(NULL);
	_exit(1);
}

/* Progress goes to stderr; stdout carries only the results (markdown). */
static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;

	fputs("mshare-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Page faults so far, minor and major (a retried fault counts as major). */
static long faults_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

/* A field of /proc/meminfo, in kB; -1 if missing. */
static long meminfo_kb(const char *field)
{
	char line[256];
	size_t len = strlen(field);
	long val = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		die("/proc/meminfo");
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, len) && line[len] == ':') {
			val = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/*
 * PageTables, exact: the per-CPU deltas of the counter are folded in first
 * (without that, /proc/meminfo lags by up to a few hundred KiB).
 */
static long pt_kb(void)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, "1\n", 2) < 0 && errno != EINVAL)
			die("write /proc/sys/vm/stat_refresh");
		close(fd);
	}
	return meminfo_kb("PageTables");
}

/*
 * PageTables once the page tables freed so far are off it: 7.x runs the
 * page-table destructor, which uncounts a table, after an RCU grace period
 * (6.x at once).  Grace periods (membarrier) until two readings agree,
 * at most 2 s.
 */
static long pt_kb_settled(void)
{
	long v, prev = -1;
	uint64_t end = now_ns() + 2000000000ULL;

	for (;;) {
		syscall(__NR_membarrier, 1 /* MEMBARRIER_CMD_GLOBAL */, 0, 0);
		v = pt_kb();
		if (v == prev || now_ns() > end)
			return v;
		prev = v;
		usleep(20000);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Median of @n values (sorts them). */
static uint64_t median(uint64_t *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_d(double *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Median of the ratios a[i] / b[i]: measurements taken back to back pair
 * up, so a slow phase of the host (it is shared) hits both sides of a pair.
 */
static double *ratios(const uint64_t *a, const uint64_t *b, int n)
{
	double *v = calloc(n > 0 ? (size_t)n : 1, sizeof(*v));

	if (!v)
		die("calloc");
	for (int i = 0; i < n; i++)
		v[i] = b[i] ? (double)a[i] / (double)b[i] : 0;
	return v;
}

static double paired_ratio(const uint64_t *a, const uint64_t *b, int n)
{
	double *v = ratios(a, b, n), m = median_d(v, n);

	free(v);
	return m;
}

static size_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	size_t mult = 1;

	switch (*end) {
	case 'k': case 'K': mult = KIB; end++; break;
	case 'm': case 'M': mult = MIB; end++; break;
	case 'g': case 'G': mult = GIB; end++; break;
	}
	if (*end || v <= 0)
		return 0;
	return (size_t)(v * (double)mult);
}

static int parse_backend(const char *s)
{
	for (int b = 0; b < NR_BACKENDS; b++)
		if (!strcmp(s, backend_name[b]))
			return b;
	return -1;
}

/* "1 GiB", "64 MiB" */
static const char *size_str(size_t size, char *buf, size_t len)
{
	if (size % GIB == 0)
		snprintf(buf, len, "%zu GiB", size / GIB);
	else if (size % MIB == 0)
		snprintf(buf, len, "%zu MiB", size / MIB);
	else
		snprintf(buf, len, "%zu KiB", size / KIB);
	return buf;
}

/* ---- the memory being shared ------------------------------------------ */

struct region {
	enum backend b;
	size_t size;
	int fd;			/* msharefs, memfd */
	int shmid;		/* sysv */
	char name[64];		/* msharefs */
};

static void region_create(struct region *r, enum backend b, size_t size)
{
	static int seq;

	memset(r, 0, sizeof(*r));
	r->b = b;
	r->size = size;
	r->fd = -1;
	r->shmid = -1;
	switch (b) {
	case B_MSHAREFS:
		snprintf(r->name, sizeof(r->name), "bench-%d-%d", (int)getpid(), seq++);
		r->fd = mcreate(r->name, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (r->fd < 0)
			die("mcreate %s", r->name);
		if (mshare_set_size(r->fd, size))
			die("mshare_set_size %zu", size);
		break;
	case B_MEMFD:
		r->fd = memfd_create("bench", 0);
		if (r->fd < 0)
			die("memfd_create");
		if (ftruncate(r->fd, (off_t)size))
			die("ftruncate memfd %zu", size);
		break;
	case B_SYSV:
		r->shmid = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
		if (r->shmid < 0)
			die("shmget %zu (kernel.shmmax/shmall?)", size);
		break;
	default:
		abort();
	}
}

/* Attach read-write: every attacher uses the same protection. */
static char *region_attach(const struct region *r)
{
	void *p;

	switch (r->b) {
	case B_MSHAREFS:
		p = mattach(r->fd, NULL, PROT_READ | PROT_WRITE, 0);
		if (p == MAP_FAILED)
			die("mattach");
		break;
	case B_MEMFD:
		p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
		if (p == MAP_FAILED)
			die("mmap memfd");
		break;
	default:
		p = shmat(r->shmid, NULL, 0);
		if (p == (void *)-1)
			die("shmat");
		break;
	}
	return p;
}

static void region_detach(const struct region *r, char *p)
{
	int ret;

	switch (r->b) {
	case B_MSHAREFS: ret = mdetach(p); break;
	case B_MEMFD: ret = munmap(p, r->size); break;
	default: ret = shmdt(p); break;
	}
	if (ret)
		die("detach %s", backend_name[r->b]);
}

static void region_destroy(struct region *r)
{
	switch (r->b) {
	case B_MSHAREFS:
		if (mshare_unlink(r->name))
			die("mshare_unlink %s", r->name);
		close(r->fd);
		break;
	case B_MEMFD:
		close(r->fd);
		break;
	default:
		if (shmctl(r->shmid, IPC_RMID, NULL))
			die("shmctl IPC_RMID");
		break;
	}
}

/* The first word of page @i holds page_tag(i) after the creator's pass. */
static uint64_t page_tag(size_t i)
{
	return (i + 1) * 0x9e3779b97f4a7c15ULL;
}

static uint64_t expected_touch_sum(size_t size)
{
	uint64_t s = 0;

	for (size_t i = 0; i < size / PAGE; i++)
		s += page_tag(i);
	return s;
}

/* The creator writes every page once: contents exist for all backends. */
static void region_fill(const struct region *r)
{
	char *p = region_attach(r);

	for (size_t i = 0; i < r->size / PAGE; i++)
		*(volatile uint64_t *)(p + i * PAGE) = page_tag(i);
	region_detach(r, p);
}

/* ---- the measured loops ----------------------------------------------- */

/*
 * Empty this CPU's TLB before a timed pass.  Under TCG the emulated TLB can
 * grow to millions of entries, so a second pass over a 1 GiB region may
 * find every translation cached, which no real TLB does: flushing keeps
 * "already attached" meaning "page tables present", as on hardware.
 * Changing the protection of more than 33 present pages makes x86 flush
 * the whole TLB (tlb_single_page_flush_ceiling) instead of page by page.
 */
#define FLUSH_PAGES	64
static char *flush_area;

static void tlb_flush_setup(void)
{
	flush_area = mmap(NULL, FLUSH_PAGES * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (flush_area == MAP_FAILED)
		die("mmap");
	for (size_t i = 0; i < FLUSH_PAGES; i++)
		flush_area[i * PAGE] = 1;
}

static void tlb_flush(void)
{
	if (mprotect(flush_area, FLUSH_PAGES * PAGE, PROT_READ) ||
	    mprotect(flush_area, FLUSH_PAGES * PAGE, PROT_READ | PROT_WRITE))
		die("mprotect");
}

/* One read per 4 KiB page. */
static __attribute__((noinline)) uint64_t touch_pages(const char *p, size_t size)
{
	uint64_t s = 0;

	for (size_t off = 0; off < size; off += PAGE)
		s += *(const volatile uint64_t *)(p + off);
	return s;
}

/* Sum every 8-byte word. */
static __attribute__((noinline)) uint64_t read_all(const char *p, size_t size)
{
	const uint64_t *q = (const uint64_t *)p;
	uint64_t s = 0;

	for (size_t i = 0; i < size / 8; i++)
		s += q[i];
	__asm__ volatile("" : "+r"(s));
	return s;
}

/* Store every 8-byte word. */
static __attribute__((noinline)) void write_all(char *p, size_t size, uint64_t v)
{
	uint64_t *q = (uint64_t *)p;

	for (size_t i = 0; i < size / 8; i++)
		q[i] = v;
	__asm__ volatile("" : : "r"(q) : "memory");
}

/* ---- parent <-> attacher protocol: a shared page set and futexes ------ */

enum op { OP_NONE, OP_ATTACH, OP_STEADY, OP_VERIFY, OP_EXIT };

/*
 * Aligned so that no slot straddles a page: the first store to a page of
 * this shared area faults in the attacher, which must not happen inside a
 * measurement (the attacher touches its slot before it is measured).
 */
struct slot {
	int req;		/* parent bumps it with a new op */
	int ack;		/* attacher copies req when done */
	int op;
	int failed;
	int64_t faults;		/* attach+touch */
	uint64_t attach_ns;	/* attach+touch */
	uint64_t floor_ns;	/* the same touch loop, already attached */
	uint64_t value;		/* OP_STEADY: value to write; OP_VERIFY: expected */
	uint64_t seg;		/* OP_STEADY: which SEG of the region */
	uint64_t read_ns;	/* OP_STEADY: read of that segment */
	uint64_t write_ns;	/* OP_STEADY: write of that segment */
} __attribute__((aligned(128)));

struct ctl {
	bool floor;
	struct slot slot[];
};

static struct ctl *ctl;
static size_t ctl_size;

static long futex(int *uaddr, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static void ctl_setup(int nmax)
{
	ctl_size = sizeof(*ctl) + (size_t)nmax * sizeof(struct slot);
	ctl_size = (ctl_size + PAGE - 1) & ~(PAGE - 1);
	ctl = mmap(NULL, ctl_size, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED)
		die("mmap control area");
}

static void ctl_teardown(void)
{
	munmap(ctl, ctl_size);
	ctl = NULL;
}

/*
 * Write the stack below the caller's frame: after fork those pages are
 * copy-on-write, and the first call that goes deeper than before would
 * take a fault inside the measurement.
 */
static __attribute__((noinline)) void prefault_stack(void)
{
	volatile char buf[32 * 1024];

	for (size_t i = 0; i < sizeof(buf); i += 256)
		buf[i] = 0;
}

static void child_main(const struct region *r, int idx) __attribute__((noreturn));
static void child_main(const struct region *r, int idx)
{
	struct slot *s = &ctl->slot[idx];
	uint64_t want = expected_touch_sum(r->size);
	char warm[4 * PAGE];
	char *p = NULL;
	int seen = 0;

	/* Fault in what the measured code needs before PageTables is read. */
	prefault_stack();
	tlb_flush_setup();
	tlb_flush();
	memset(warm, 1, sizeof(warm));
	(void)touch_pages(warm, sizeof(warm));
	(void)read_all(warm, sizeof(warm));
	write_all(warm, sizeof(warm), 1);
	(void)faults_now();
	(void)now_ns();
	/*
	 * And the attach path (library code, stack): attach and detach once
	 * without touching anything, which maps no page and builds no table.
	 */
	region_detach(r, region_attach(r));
	__atomic_store_n(&s->ack, 0, __ATOMIC_RELEASE);
	futex(&s->ack, FUTEX_WAKE, 1, NULL);

	for (;;) {
		int req = __atomic_load_n(&s->req, __ATOMIC_ACQUIRE);

		if (req == seen) {
			futex(&s->req, FUTEX_WAIT, seen, NULL);
			continue;
		}
		seen = req;
		switch (s->op) {
		case OP_ATTACH: {
			long f0;
			uint64_t t0, sum;

			tlb_flush();
			f0 = faults_now();
			t0 = now_ns();

			p = region_attach(r);
			sum = touch_pages(p, r->size);
			t0 = now_ns() - t0;
			f0 = faults_now() - f0;
			s->attach_ns = t0;
			s->faults = f0;
			if (sum != want) {
				fprintf(stderr, "mshare-bench: attacher %d (%s) read wrong data: sum %#" PRIx64 ", expected %#" PRIx64 "\n",
					idx + 1, backend_name[r->b], sum, want);
				s->failed = 1;
			}
			if (ctl->floor) {
				tlb_flush();
				t0 = now_ns();
				sum = touch_pages(p, r->size);
				s->floor_ns = now_ns() - t0;
				if (sum != want)
					s->failed = 1;
			}
			break;
		}
		case OP_STEADY: {
			/* One segment: a timed read, then a timed write. */
			static bool warm_done;
			size_t off = s->seg * SEG;
			size_t len = r->size - off < SEG ? r->size - off : SEG;
			uint64_t t0, sum;

			if (!warm_done) {
				/* One untimed pass of each first. */
				(void)read_all(p, r->size);
				write_all(p, r->size, s->value);
				warm_done = true;
			}
			tlb_flush();
			t0 = now_ns();
			sum = read_all(p + off, len);
			s->read_ns = now_ns() - t0;
			if (sum != s->value * (len / 8)) {
				fprintf(stderr, "mshare-bench: steady read of %s: wrong sum\n",
					backend_name[r->b]);
				s->failed = 1;
			}
			tlb_flush();
			t0 = now_ns();
			write_all(p + off, len, s->value);
			s->write_ns = now_ns() - t0;
			break;
		}
		case OP_VERIFY:
			/* Another process's writes are visible here. */
			for (size_t off = 0; off < r->size; off += PAGE) {
				if (*(volatile uint64_t *)(p + off) != s->value) {
					fprintf(stderr, "mshare-bench: attacher %d (%s) misses another attacher's write at offset %zu\n",
						idx + 1, backend_name[r->b], off);
					s->failed = 1;
					break;
				}
			}
			break;
		case OP_EXIT:
			_exit(0);
		}
		__atomic_store_n(&s->ack, req, __ATOMIC_RELEASE);
		futex(&s->ack, FUTEX_WAKE, 1, NULL);
	}
}

/* Wait until attacher @idx acknowledged request @req. */
static void wait_ack(pid_t pid, int idx, int req)
{
	struct slot *s = &ctl->slot[idx];
	uint64_t t0 = now_ns();

	for (;;) {
		int ack = __atomic_load_n(&s->ack, __ATOMIC_ACQUIRE);
		struct timespec ts = { 1, 0 };
		int status;

		if (ack == req)
			break;
		futex(&s->ack, FUTEX_WAIT, ack, &ts);
		if (waitpid(pid, &status, WNOHANG) == pid) {
			errno = 0;
			die("attacher %d (pid %d) died: %s %d", idx + 1, (int)pid,
			    WIFSIGNALED(status) ? "signal" : "exit status",
			    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		}
		if (now_ns() - t0 > OP_TIMEOUT_S * 1000000000ULL) {
			errno = 0;
			die("attacher %d (pid %d) did not answer in %d s", idx + 1, (int)pid, OP_TIMEOUT_S);
		}
	}
	if (s->failed) {
		errno = 0;
		die("attacher %d failed", idx + 1);
	}
}

static void request(pid_t pid, int idx, int op, uint64_t value)
{
	struct slot *s = &ctl->slot[idx];
	int req = s->req + 1;

	s->op = op;
	s->value = value;
	__atomic_store_n(&s->req, req, __ATOMIC_RELEASE);
	futex(&s->req, FUTEX_WAKE, 1, NULL);
	wait_ack(pid, idx, req);
}

/* ---- one group of rows: N attachers per backend, interleaved --------- */

struct row {
	enum backend b;
	int n;
	size_t size;
	bool done;
	long pt_region_kb;	/* PageTables kept by the region itself */
	long pt_first_kb;	/* the first attacher's */
	long pt_extra_kb;	/* attachers 2..N together */
	long faults_first;
	uint64_t faults_med, faults_max;	/* attachers 2..N (or 1) */
	int faults_over;	/* attachers (the first too) above 1 per 2 MiB */
	uint64_t at_first_ns, at_med_ns, floor_med_ns;
	uint64_t read_ns, write_ns;		/* medians, last attacher */
	/* Medians of paired ratios (0: not measured). */
	double floor_ratio;	/* attach+touch / floor, same attacher */
	double memfd_ratio;	/* memfd's attach+touch / this, attacher i vs i */
	double *floor_ratios, *memfd_ratios;	/* each of attachers 2..N */
	double read_ratio, write_ratio;	/* this / memfd, pass p vs p */
	double secs;
	long avail_before_kb, avail_after_kb;
};

static double per_extra_kb(const struct row *r)
{
	return r->n > 1 ? (double)r->pt_extra_kb / (r->n - 1) : 0;
}

static long pt_all_kb(const struct row *r)
{
	return r->pt_first_kb + r->pt_extra_kb;
}

/*
 * N attachers for each backend of @grp (all regions exist at once); the
 * attachers of the backends take turns, one at a time, so that slow phases
 * of the host (TCG shares it) hit every backend alike.  PageTables is read
 * between every two attachers: each delta belongs to one backend.
 */
static void run_group(struct row **grp, int nb, bool steady, bool floor)
{
	struct region r[NR_BACKENDS];
	int n = grp[0]->n, nslots = n * nb;
	pid_t *pids = calloc((size_t)nslots, sizeof(*pids));
	uint64_t *v = calloc((size_t)n + MAX_PASSES, sizeof(*v));
	uint64_t *v2 = calloc(MAX_PASSES, sizeof(*v2));
	uint64_t t_start = now_ns();
	int first = n > 1 ? 1 : 0;
	long pt, before;
	char sz[32];

	if (!pids || !v || !v2)
		die("calloc");
	for (int j = 0; j < nb; j++) {
		progress("%-8s N=%-4d %s: creating and filling the region\n",
		       backend_name[grp[j]->b], n,
		       size_str(grp[j]->size, sz, sizeof(sz)));
		before = pt_kb_settled();
		region_create(&r[j], grp[j]->b, grp[j]->size);
		region_fill(&r[j]);
		/* The filler's own tables are gone once it detached. */
		grp[j]->pt_region_kb = pt_kb_settled() - before;
	}
	ctl_setup(nslots);
	ctl->floor = floor;

	for (int j = 0; j < nb; j++)
		grp[j]->avail_before_kb = meminfo_kb("MemAvailable");
	/* Slot j * n + i: attacher i of backend j. */
	for (int i = 0; i < nslots; i++) {
		ctl->slot[i].ack = -1;
		fflush(NULL);
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork (attacher %d)", i + 1);
		if (pids[i] == 0)
			child_main(&r[i / n], i);
		wait_ack(pids[i], i, 0);
	}

	pt = pt_kb();
	for (int i = 0; i < n; i++) {
		for (int jj = 0; jj < nb; jj++) {
			int j = (i + jj) % nb, slot = j * n + i;
			long now;

			request(pids[slot], slot, OP_ATTACH, 0);
			now = pt_kb();
			if (i == 0)
				grp[j]->pt_first_kb = now - pt;
			else
				grp[j]->pt_extra_kb += now - pt;
			pt = now;
		}
		if (n >= 100 && (i + 1) % 100 == 0)
			progress("  %d attached\n", i + 1);
	}

	/* Paired ratios first: median() sorts its input. */
	for (int j = 0; j < nb; j++) {
		struct slot *sl = &ctl->slot[j * n];
		uint64_t *fl = calloc((size_t)n, sizeof(*fl));

		if (!fl)
			die("calloc");
		for (int i = first; i < n; i++) {
			v[i - first] = sl[i].attach_ns;
			fl[i - first] = sl[i].floor_ns;
		}
		if (floor) {
			grp[j]->floor_ratios = ratios(v, fl, n - first);
			grp[j]->floor_ratio = paired_ratio(v, fl, n - first);
		}
		for (int jm = 0; jm < nb; jm++) {
			if (grp[jm]->b != B_MEMFD)
				continue;
			for (int i = first; i < n; i++)
				fl[i - first] = ctl->slot[jm * n + i].attach_ns;
			grp[j]->memfd_ratios = ratios(fl, v, n - first);
			grp[j]->memfd_ratio = paired_ratio(fl, v, n - first);
		}
		free(fl);
	}
	for (int j = 0; j < nb; j++) {
		struct row *row = grp[j];
		struct slot *sl = &ctl->slot[j * n];

		row->avail_after_kb = meminfo_kb("MemAvailable");
		row->faults_first = sl[0].faults;
		row->at_first_ns = sl[0].attach_ns;
		for (int i = first; i < n; i++)
			v[i - first] = (uint64_t)sl[i].faults;
		row->faults_med = median(v, n - first);
		row->faults_max = v[n - first - 1];
		for (int i = 0; i < n; i++)
			row->faults_over += (uint64_t)sl[i].faults > row->size / CHUNK;
		for (int i = first; i < n; i++)
			v[i - first] = sl[i].attach_ns;
		row->at_med_ns = median(v, n - first);
		for (int i = first; i < n; i++)
			v[i - first] = sl[i].floor_ns;
		row->floor_med_ns = median(v, n - first);
	}

	if (steady && opt_passes > 0) {
		/* The last attacher of each backend, segments interleaved. */
		uint64_t rd[NR_BACKENDS][MAX_PASSES] = { { 0 } };
		uint64_t wr[NR_BACKENDS][MAX_PASSES] = { { 0 } };
		uint64_t val = 0x0123456789abcdefULL ^ (uint64_t)n;
		size_t nseg = (grp[0]->size + SEG - 1) / SEG;

		for (int p = 0; p < opt_passes; p++)
			for (size_t k = 0; k < nseg; k++)
				for (int jj = 0; jj < nb; jj++) {
					int j = (int)((p + k + jj) % nb), slot = j * n + n - 1;

					if (k * SEG >= grp[j]->size)
						continue;
					ctl->slot[slot].seg = k;
					request(pids[slot], slot, OP_STEADY, val);
					rd[j][p] += ctl->slot[slot].read_ns;
					wr[j][p] += ctl->slot[slot].write_ns;
				}
		for (int j = 0; j < nb; j++)
			for (int jm = 0; jm < nb; jm++)
				if (grp[jm]->b == B_MEMFD) {
					grp[j]->read_ratio = paired_ratio(rd[j], rd[jm], opt_passes);
					grp[j]->write_ratio = paired_ratio(wr[j], wr[jm], opt_passes);
				}
		for (int j = 0; j < nb; j++) {
			grp[j]->read_ns = median(rd[j], opt_passes);
			grp[j]->write_ns = median(wr[j], opt_passes);
			/* The first attacher sees the last one's writes. */
			if (n > 1)
				request(pids[j * n], j * n, OP_VERIFY, val);
		}
	}

	for (int i = 0; i < nslots; i++) {
		ctl->slot[i].op = OP_EXIT;
		__atomic_store_n(&ctl->slot[i].req, ctl->slot[i].req + 1, __ATOMIC_RELEASE);
		futex(&ctl->slot[i].req, FUTEX_WAKE, 1, NULL);
	}
	for (int i = 0; i < nslots; i++) {
		int status;

		if (waitpid(pids[i], &status, 0) != pids[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			errno = 0;
			die("attacher %d did not exit cleanly", i + 1);
		}
	}
	for (int j = 0; j < nb; j++)
		region_destroy(&r[j]);
	ctl_teardown();
	free(pids);
	free(v);
	free(v2);

	for (int j = 0; j < nb; j++) {
		struct row *row = grp[j];

		row->secs = (double)(now_ns() - t_start) / 1e9;
		row->done = true;
		progress("%-8s N=%-4d PageTables +%ld kB (1st +%ld kB), faults %" PRIu64 ", attach+touch %.1f ms, floor %.1f ms\n",
		       backend_name[row->b], n, pt_all_kb(row), row->pt_first_kb,
		       row->faults_med, (double)row->at_med_ns / 1e6,
		       (double)row->floor_med_ns / 1e6);
	}
	progress("  (%.1f s)\n", (double)(now_ns() - t_start) / 1e9);
	fflush(stdout);
}

/* ---- interleaved steady state ------------------------------------------ */

struct steady {
	bool done;
	uint64_t read_ns[NR_BACKENDS], write_ns[NR_BACKENDS];
	double read_ratio[NR_BACKENDS], write_ratio[NR_BACKENDS];	/* vs memfd, paired */
	double secs;
};

/*
 * One process attaches one region of every backend, then alternates the
 * backends pass after pass, so slow phases of the host hit all of them.
 * Runs in a child so the parent's address space stays small.
 */
static void run_steady(struct steady *st, size_t size, int rounds)
{
	struct region r[NR_BACKENDS];
	struct {
		uint64_t read_ns[NR_BACKENDS][MAX_PASSES];
		uint64_t write_ns[NR_BACKENDS][MAX_PASSES];
		int failed;
	} *res;
	uint64_t t_start = now_ns();
	int status;
	pid_t pid;

	progress("interleaved steady state: %d rounds over %zu MiB per backend\n",
	       rounds, size / MIB);
	fflush(stdout);
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		die("mmap");
	for (int b = 0; b < NR_BACKENDS; b++)
		if (opt_backend[b]) {
			region_create(&r[b], b, size);
			region_fill(&r[b]);
		}
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		char *p[NR_BACKENDS] = { 0 };

		tlb_flush_setup();
		for (int b = 0; b < NR_BACKENDS; b++) {
			if (!opt_backend[b])
				continue;
			p[b] = region_attach(&r[b]);
			(void)read_all(p[b], size);
			write_all(p[b], size, 7);
		}
		size_t nseg = (size + SEG - 1) / SEG;

		for (int i = 0; i < rounds; i++) {
			/*
			 * A read pass of every backend, segment by segment with
			 * the backends taking turns (and the order rotating:
			 * nobody always goes first), then a write pass alike.
			 */
			for (size_t s = 0; s < nseg; s++) {
				size_t off = s * SEG, len = size - off < SEG ? size - off : SEG;

				for (int k = 0; k < NR_BACKENDS; k++) {
					int b = (int)((i + s + k) % NR_BACKENDS);
					uint64_t t0, sum;

					if (!p[b])
						continue;
					tlb_flush();
					t0 = now_ns();
					sum = read_all(p[b] + off, len);
					res->read_ns[b][i] += now_ns() - t0;
					if (sum != (uint64_t)(7 + i) * (len / 8))
						res->failed = 1;
				}
			}
			for (size_t s = 0; s < nseg; s++) {
				size_t off = s * SEG, len = size - off < SEG ? size - off : SEG;

				for (int k = 0; k < NR_BACKENDS; k++) {
					int b = (int)((i + s + k) % NR_BACKENDS);
					uint64_t t0;

					if (!p[b])
						continue;
					tlb_flush();
					t0 = now_ns();
					write_all(p[b] + off, len, (uint64_t)(8 + i));
					res->write_ns[b][i] += now_ns() - t0;
				}
			}
		}
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) || res->failed) {
		errno = 0;
		die("interleaved steady state failed (status %#x, wrong data %d)",
		    status, res->failed);
	}
	for (int b = 0; b < NR_BACKENDS; b++) {
		if (!opt_backend[b])
			continue;
		if (opt_backend[B_MEMFD]) {
			st->read_ratio[b] = paired_ratio(res->read_ns[b], res->read_ns[B_MEMFD], rounds);
			st->write_ratio[b] = paired_ratio(res->write_ns[b], res->write_ns[B_MEMFD], rounds);
		}
		st->read_ns[b] = median(res->read_ns[b], rounds);
		st->write_ns[b] = median(res->write_ns[b], rounds);
		region_destroy(&r[b]);
	}
	munmap(res, sizeof(*res));
	st->secs = (double)(now_ns() - t_start) / 1e9;
	st->done = true;
}

/* ---- report ------------------------------------------------------------ */

static struct row rows[NR_BACKENDS][MAX_NS];
static struct row scale_row;
static struct steady steady;

static const struct row *row_of(int b, int k)
{
	return opt_backend[b] && rows[b][k].done ? &rows[b][k] : NULL;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* memfd row with the same N, if measured at the same size. */
static const struct row *memfd_peer(const struct row *r)
{
	for (int k = 0; k < opt_nr_ns; k++) {
		const struct row *m = row_of(B_MEMFD, k);

		if (m && m->n == r->n && m->size == r->size)
			return m;
	}
	return NULL;
}

/* Scaled to a 1 GiB region; a smaller region counts as 1 GiB (one PMD page). */
static double per_gib(const struct row *r, double v)
{
	return v * (double)GIB / (double)(r->size > GIB ? r->size : GIB);
}

static void print_tables(void)
{
	char sz[32];

	printf("\n### Page tables (/proc/meminfo PageTables, KiB)\n\n");
	printf("PageTables is read (after folding the per-CPU counters: /proc/sys/vm/stat_refresh) before and after every attacher. "
	       "Region-owned: what the region keeps after its creator wrote every page and detached (msharefs: its PTE tables, counted once whoever uses them). "
	       "1st: what the first attacher added. Per extra: attachers 2..N, per attacher. Per GiB: per extra attacher scaled to 1 GiB of region (smaller regions count as 1 GiB).\n\n");
	printf("| backend | region | N | region-owned | 1st attacher | per extra attacher | per extra per GiB | all N attachers | memfd / this (per extra) |\n");
	printf("|---|---|--:|--:|--:|--:|--:|--:|--:|\n");
	for (int b = 0; b < NR_BACKENDS; b++)
		for (int k = 0; k < opt_nr_ns; k++) {
			const struct row *r = row_of(b, k), *m;

			if (!r)
				continue;
			m = memfd_peer(r);
			printf("| %s | %s | %d | %ld | %ld | ", backend_name[b],
			       size_str(r->size, sz, sizeof(sz)), r->n,
			       r->pt_region_kb, r->pt_first_kb);
			if (r->n > 1)
				printf("%.1f | %.1f | ", per_extra_kb(r), per_gib(r, per_extra_kb(r)));
			else
				printf("- | - | ");
			printf("%ld | ", pt_all_kb(r));
			if (m && r->n > 1 && r->pt_extra_kb > 0)
				printf("%.0f |\n", per_extra_kb(m) / per_extra_kb(r));
			else
				printf("- |\n");
		}

	printf("\n### Faults and attach+touch time per attacher\n\n");
	printf("Attach (mattach / mmap / shmat) then one 8-byte read per 4 KiB page, checked. "
	       "Faults: getrusage minor + major around attach+touch (the msharefs fault retried after registering the mm's notifier counts as major). "
	       "2..N: median over attachers 2..N (attacher 1 when N = 1). "
	       "Floor: the same touch loop once more over the attached region, median over the same attachers. "
	       "Cost per fault: (attach+touch - floor) / faults, from the medians. "
	       "attach+touch / floor: median of each attacher's own ratio. "
	       "attach+touch: memfd / this: median over i of memfd attacher i's attach+touch time divided by this backend's attacher i's (they ran back to back).\n\n");
	printf("| backend | region | N | faults 1st | faults 2..N (median / max) | faults per 2 MiB | faults: memfd / this | attach+touch 1st (ms) | attach+touch 2..N (ms) | floor (ms) | cost per fault (us) | attach+touch / floor | attach+touch: memfd / this |\n");
	printf("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
	for (int b = 0; b < NR_BACKENDS; b++)
		for (int k = 0; k < opt_nr_ns; k++) {
			const struct row *r = row_of(b, k), *m;

			if (!r)
				continue;
			m = memfd_peer(r);
			printf("| %s | %s | %d | %ld | %" PRIu64 " / %" PRIu64 " | %.2f | ",
			       backend_name[b], size_str(r->size, sz, sizeof(sz)),
			       r->n, r->faults_first, r->faults_med, r->faults_max,
			       (double)r->faults_med / (double)(r->size / CHUNK));
			if (m && r->faults_med)
				printf("%.1f | ", (double)m->faults_med / (double)r->faults_med);
			else
				printf("- | ");
			printf("%.1f | %.1f | %.1f | %.1f | %.2f | ",
			       ms(r->at_first_ns), ms(r->at_med_ns),
			       ms(r->floor_med_ns),
			       r->faults_med ? ((double)r->at_med_ns - (double)r->floor_med_ns) / 1e3 / (double)r->faults_med : 0.0,
			       r->floor_ratio);
			if (r->memfd_ratio > 0)
				printf("%.2f |\n", r->memfd_ratio);
			else if (m)
				printf("%.2f (medians) |\n", (double)m->at_med_ns / (double)r->at_med_ns);
			else
				printf("- |\n");
		}

	if (opt_passes > 0) {
		printf("\n### Steady state per row\n\n"
		       "The last attacher, with all N attached: %d read and write passes over the region, median. "
		       "The backends of a group take turns every %lu MiB; vs memfd: median of the ratios of the passes, only within a group "
		       "(for a backend measured apart from memfd, see the interleaved run).\n\n", opt_passes, SEG / MIB);
		printf("| backend | region | N | read (ms) | write (ms) | read vs memfd | write vs memfd |\n");
		printf("|---|---|--:|--:|--:|--:|--:|\n");
		for (int b = 0; b < NR_BACKENDS; b++)
			for (int k = 0; k < opt_nr_ns; k++) {
				const struct row *r = row_of(b, k);

				if (!r)
					continue;
				printf("| %s | %s | %d | %.1f | %.1f | ", backend_name[b],
				       size_str(r->size, sz, sizeof(sz)), r->n,
				       ms(r->read_ns), ms(r->write_ns));
				if (r->read_ratio > 0)
					printf("%.3f | %.3f |\n", r->read_ratio, r->write_ratio);
				else
					printf("- | - |\n");
			}
	}

	if (steady.done) {
		size_t ssz = opt_steady_size ? opt_steady_size : opt_size;

		printf("\n### Steady state, interleaved\n\n"
		       "One process attaches one %s region of every backend; each round is a read pass, then a write pass, over every region, "
		       "the backends taking turns every %lu MiB (their order rotating). Times: median of %d rounds; vs memfd: median of the per-round ratios.\n\n",
		       size_str(ssz, sz, sizeof(sz)), SEG / MIB, opt_rounds);
		printf("| backend | read (ms) | write (ms) | read vs memfd | write vs memfd |\n");
		printf("|---|--:|--:|--:|--:|\n");
		for (int b = 0; b < NR_BACKENDS; b++) {
			if (!opt_backend[b])
				continue;
			printf("| %s | %.1f | %.1f | ", backend_name[b],
			       ms(steady.read_ns[b]), ms(steady.write_ns[b]));
			if (opt_backend[B_MEMFD])
				printf("%.3f | %.3f |\n", steady.read_ratio[b], steady.write_ratio[b]);
			else
				printf("- | - |\n");
		}
	}
}

/* The memfd row with the largest N measured (for extrapolation). */
static const struct row *memfd_largest(void)
{
	const struct row *best = NULL;

	for (int k = 0; k < opt_nr_ns; k++) {
		const struct row *m = row_of(B_MEMFD, k);

		if (m && m->n > 1 && (!best || m->n > best->n))
			best = m;
	}
	return best;
}

static void print_scale(void)
{
	const struct row *s = &scale_row, *m = memfd_largest();
	char sz[32];

	if (!s->done)
		return;
	printf("\n### Scale: %d attachers of one %s region\n\n", s->n,
	       size_str(s->size, sz, sizeof(sz)));
	printf("| backend | attachers | page tables of all attachers (MiB) | per attacher (KiB) | per extra attacher (KiB) | how |\n");
	printf("|---|--:|--:|--:|--:|---|\n");
	printf("| msharefs | %d | %.2f | %.2f | %.2f | measured (plus %.1f MiB of region-owned tables, once) |\n",
	       s->n, (double)pt_all_kb(s) / 1024.0,
	       (double)pt_all_kb(s) / s->n, per_extra_kb(s),
	       (double)s->pt_region_kb / 1024.0);
	if (m) {
		double scale = (double)s->size / (double)m->size;
		double extra = per_extra_kb(m) * scale;
		double first = (double)m->pt_first_kb * scale;
		double total = first + extra * (s->n - 1);

		printf("| memfd | %d | %.1f | %.2f | %.2f | extrapolated: 1st + (N - 1) x per extra, from N = %d at %s |\n",
		       s->n, total / 1024.0, total / s->n, extra, m->n,
		       size_str(m->size, sz, sizeof(sz)));
	}
	printf("\nmsharefs scale run: every attacher touched every page; faults per attacher %" PRIu64 " (median; max %" PRIu64 "); attach+touch %.1f ms (median); "
	       "MemAvailable %ld MiB before the attachers were forked, %ld MiB with all %d attached; %.0f s.\n",
	       s->faults_med, s->faults_max, ms(s->at_med_ns),
	       s->avail_before_kb / 1024, s->avail_after_kb / 1024, s->n, s->secs);
}

static const char *verdict(bool ok)
{
	return ok ? "**met**" : "**not met**";
}

/*
 * The per-attacher ratios (vs memfd, or vs the floor) of every row of @b
 * with N >= 2, pooled: their median.  @lo, @hi: the range of the rows' own
 * medians.  0 if there is none.
 */
static double pooled(int b, bool memfd, double *lo, double *hi)
{
	double *all = NULL, med;
	int nall = 0;

	for (int k = 0; k < opt_nr_ns; k++) {
		const struct row *r = row_of(b, k);
		const double *v;
		double rm;

		if (!r || r->n < 2)
			continue;
		v = memfd ? r->memfd_ratios : r->floor_ratios;
		rm = memfd ? r->memfd_ratio : r->floor_ratio;
		if (!v)
			continue;
		all = realloc(all, (size_t)(nall + r->n - 1) * sizeof(*all));
		if (!all)
			die("realloc");
		memcpy(all + nall, v, (size_t)(r->n - 1) * sizeof(*all));
		if (lo && (!nall || rm < *lo))
			*lo = rm;
		if (hi && (!nall || rm > *hi))
			*hi = rm;
		nall += r->n - 1;
	}
	med = median_d(all, nall);
	free(all);
	return med;
}

static void print_verdicts(void)
{
	const struct row *m = memfd_largest(), *wr = NULL;
	double worst = -1, lo = 0, hi = 0;
	char ref[160];

	printf("\n### Targets\n\n");
	if (!opt_backend[B_MSHAREFS]) {
		printf("(no msharefs rows: nothing to judge)\n");
		return;
	}
	printf("| target | required | msharefs (worst row) | reference | verdict |\n");
	printf("|---|---|---|---|---|\n");

	/* Page tables per extra attacher per GiB. */
	for (int k = 0; k <= opt_nr_ns; k++) {
		const struct row *r = k < opt_nr_ns ? row_of(B_MSHAREFS, k) :
				      (scale_row.done ? &scale_row : NULL);

		if (r && r->n > 1 && per_gib(r, per_extra_kb(r)) > worst) {
			worst = per_gib(r, per_extra_kb(r));
			wr = r;
		}
	}
	if (wr) {
		snprintf(ref, sizeof(ref), "memfd: %.0f KiB", m ? per_gib(m, per_extra_kb(m)) : 0.0);
		printf("| page tables per extra attacher, per GiB | <= 4 KiB | %.2f KiB (N = %d) | %s | %s |\n",
		       worst, wr->n, m ? ref : "-", verdict(worst <= 4.0));
	}

	/*
	 * Faults per 2 MiB: each row's median attacher, the worst row; and how
	 * many attachers of all (the first ones too) took more.
	 */
	{
		int over = 0, all = 0;
		uint64_t fmax = 0;

		worst = -1;
		for (int k = 0; k <= opt_nr_ns; k++) {
			const struct row *r = k < opt_nr_ns ? row_of(B_MSHAREFS, k) :
					      (scale_row.done ? &scale_row : NULL);
			double f;

			if (!r)
				continue;
			f = (double)r->faults_med / (double)(r->size / CHUNK);
			if (f > worst) {
				worst = f;
				wr = r;
			}
			over += r->faults_over;
			all += r->n;
			if (r->faults_max > fmax)
				fmax = r->faults_max;
			if ((uint64_t)r->faults_first > fmax)
				fmax = (uint64_t)r->faults_first;
		}
		if (worst >= 0) {
			snprintf(ref, sizeof(ref), "memfd: %.0f per GiB",
				 m ? (double)m->faults_med * (double)GIB / (double)m->size : 0.0);
			printf("| page faults per attacher | <= 1 per 2 MiB | %.3f per 2 MiB (median attacher, worst row: N = %d); %d of %d attachers took more, the most %" PRIu64 " | %s | %s |\n",
			       worst, wr->n, over, all, fmax, m ? ref : "-", verdict(worst <= 1.0));
		}
	}

	/*
	 * Attach+touch of attachers 2..N, vs memfd (attacher i against memfd's
	 * attacher i) and vs the floor (each attacher's own): the median of
	 * the per-attacher ratios over all rows, and the range of the rows'.
	 */
	{
		double sp = pooled(B_MSHAREFS, true, &lo, &hi);
		double ceil = pooled(B_MEMFD, false, NULL, NULL);

		if (sp > 0)
			printf("| attach+touch, attachers 2..N, vs memfd | >= 5x faster | %.2fx faster (median of all pairs; rows %.2f-%.2fx) | memfd, same N, attachers taking turns; ceiling here (memfd attach+touch / its floor): %.2fx | %s |\n",
			       sp, lo, hi, ceil, verdict(sp >= 5.0));
		sp = pooled(B_MSHAREFS, false, &lo, &hi);
		if (sp > 0)
			printf("| attach+touch, attachers 2..N, vs the floor | <= 1.5x the floor | %.2fx (median of all attachers; rows %.2f-%.2fx) | floor: same touch loop, already attached, same process | %s |\n",
			       sp, lo, hi, opt_quick ? "(quick run: not judged)" : verdict(sp <= 1.5));
	}

	/* Steady state: the interleaved run. */
	if (steady.done && opt_backend[B_MEMFD]) {
		double rd = steady.read_ratio[B_MSHAREFS];
		double wt = steady.write_ratio[B_MSHAREFS];

		char nr[96] = "", nw[96] = "";

		/* SysV shm reaches the same pages the same way as memfd. */
		if (opt_backend[B_SYSV]) {
			snprintf(nr, sizeof(nr), "; sysv vs memfd (no difference expected): %.3fx",
				 steady.read_ratio[B_SYSV]);
			snprintf(nw, sizeof(nw), "; sysv vs memfd (no difference expected): %.3fx",
				 steady.write_ratio[B_SYSV]);
		}
		printf("| steady-state read, vs memfd | within 2%% (<= 1.02x) | %.3fx (interleaved run) | memfd %.1f ms%s | %s |\n",
		       rd, ms(steady.read_ns[B_MEMFD]), nr, verdict(rd <= 1.02));
		printf("| steady-state write, vs memfd | within 2%% (<= 1.02x) | %.3fx (interleaved run) | memfd %.1f ms%s | %s |\n",
		       wt, ms(steady.write_ns[B_MEMFD]), nw, verdict(wt <= 1.02));
	}
}

/* ---- main -------------------------------------------------------------- */

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fprintf(stderr,
		"usage: mshare-bench [-s SIZE] [-n N,...] [-b BACKEND,...] [-p PASSES] [-r ROUNDS]\n"
		"                    [-S SIZE] [-x N] [-c BACKEND:N:SIZE]... [-g GROUPS] [-q]\n"
		"  backends: msharefs, memfd, sysv; SIZE: a multiple of 2M, e.g. 64M, 1G\n");
	exit(2);
}

static size_t row_size(int b, int n)
{
	for (int i = 0; i < opt_nr_caps; i++)
		if (opt_caps[i].b == (enum backend)b && opt_caps[i].n == n)
			return opt_caps[i].size;
	return opt_size;
}

int main(int argc, char **argv)
{
	struct utsname u;
	struct rlimit rl;
	uint64_t t0 = now_ns();
	char sz[32];
	int opt;

	while ((opt = getopt(argc, argv, "s:n:b:p:r:S:x:c:g:qh")) != -1) {
		char *tok, *save, *arg;

		switch (opt) {
		case 's':
			opt_size = parse_size(optarg);
			break;
		case 'S':
			opt_steady_size = parse_size(optarg);
			if (!opt_steady_size)
				usage();
			break;
		case 'n':
			opt_nr_ns = 0;
			arg = strdup(optarg);
			for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (opt_nr_ns == MAX_NS || atoi(tok) < 1)
					usage();
				opt_ns[opt_nr_ns++] = atoi(tok);
			}
			free(arg);
			break;
		case 'b':
			memset(opt_backend, 0, sizeof(opt_backend));
			arg = strdup(optarg);
			for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				int b = parse_backend(tok);

				if (b < 0)
					usage();
				opt_backend[b] = true;
			}
			free(arg);
			break;
		case 'p':
			opt_passes = atoi(optarg);
			if (opt_passes < 0 || opt_passes > MAX_PASSES)
				usage();
			break;
		case 'r':
			opt_rounds = atoi(optarg);
			if (opt_rounds < 0 || opt_rounds > MAX_PASSES)
				usage();
			break;
		case 'x':
			opt_scale = atoi(optarg);
			break;
		case 'c': {
			char bname[32], size[32];
			int b, n;

			if (opt_nr_caps == MAX_CAPS ||
			    sscanf(optarg, "%31[^:]:%d:%31s", bname, &n, size) != 3 ||
			    (b = parse_backend(bname)) < 0)
				usage();
			opt_caps[opt_nr_caps++] = (struct cap){ b, n, parse_size(size) };
			if (!opt_caps[opt_nr_caps - 1].size ||
			    opt_caps[opt_nr_caps - 1].size % CHUNK)
				usage();
			break;
		}
		case 'g': {
			unsigned int seen = 0;

			opt_nr_groups = 0;
			arg = strdup(optarg);
			for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				char *save2, *t2;
				unsigned int mask = 0;

				for (t2 = strtok_r(tok, "+", &save2); t2; t2 = strtok_r(NULL, "+", &save2)) {
					int b = parse_backend(t2);

					if (b < 0 || (seen & 1U << b))
						usage();
					mask |= 1U << b;
					seen |= 1U << b;
				}
				opt_groups[opt_nr_groups++] = mask;
			}
			free(arg);
			/* Backends not named go alone. */
			for (int b = 0; b < NR_BACKENDS; b++)
				if (!(seen & 1U << b))
					opt_groups[opt_nr_groups++] = 1U << b;
			break;
		}
		case 'q':
			opt_quick = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !opt_size || opt_size % CHUNK ||
	    (opt_steady_size && opt_steady_size % CHUNK))
		usage();

	/*
	 * No transparent huge pages for us and the attachers (inherited):
	 * khugepaged collapsing their heaps and stacks in the background
	 * invalidates their mms at random moments (an msharefs fault that
	 * meets an invalidation retries: one more fault) and frees their PTE
	 * pages while PageTables is being measured.  The regions themselves
	 * use 4 KiB pages anyway (msharefs windows are VM_NOHUGEPAGE, shmem
	 * THP is off by default).
	 */
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		die("prctl PR_SET_THP_DISABLE");

	/* Many attachers: lift the process limits we may hit. */
	if (!getrlimit(RLIMIT_NPROC, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NPROC, &rl);
	}
	uname(&u);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("`mshare-bench");
	for (int i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf("`: kernel %s, %ld CPUs, MemTotal %ld MiB.\n",
	       u.release, sysconf(_SC_NPROCESSORS_ONLN), meminfo_kb("MemTotal") / 1024);
	progress("kernel %s, region %s, N =", u.release, size_str(opt_size, sz, sizeof(sz)));
	for (int k = 0; k < opt_nr_ns; k++)
		fprintf(stderr, " %d", opt_ns[k]);
	fprintf(stderr, "\n");

	for (int k = 0; k < opt_nr_ns; k++)
		for (int g = 0; g < opt_nr_groups; g++) {
			struct row *grp[NR_BACKENDS];
			int nb = 0;

			for (int b = 0; b < NR_BACKENDS; b++) {
				if (!opt_backend[b] || !(opt_groups[g] & 1U << b))
					continue;
				rows[b][k].b = b;
				rows[b][k].n = opt_ns[k];
				rows[b][k].size = row_size(b, opt_ns[k]);
				grp[nb++] = &rows[b][k];
			}
			if (nb)
				run_group(grp, nb, true, true);
		}

	if (opt_rounds > 0)
		run_steady(&steady, opt_steady_size ? opt_steady_size : opt_size,
			   opt_rounds);

	if (opt_scale > 0 && opt_backend[B_MSHAREFS]) {
		progress("scale run: %d msharefs attachers\n", opt_scale);
		scale_row.b = B_MSHAREFS;
		scale_row.n = opt_scale;
		scale_row.size = opt_size;
		struct row *grp[1] = { &scale_row };

		run_group(grp, 1, false, false);
	}

	print_tables();
	print_scale();
	print_verdicts();
	printf("\nmshare-bench ran %.0f s.\n", (double)(now_ns() - t0) / 1e9);
	return 0;
}
