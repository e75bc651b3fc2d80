/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the live tests (suite "live").
 *
 * A live test runs as root inside the VM, against the real msharefs module
 * mounted at /sys/fs/mshare.  Exit status: 0 pass, 1 fail, 77 skip.
 * Every diagnostic goes to stderr.
 *
 * CHECK(cond)                 fail (exit 1) unless cond holds
 * CHECKF(cond, fmt, ...)      same, with a formatted explanation
 * EXPECT_OK(call)             fail if call returns -1 / MAP_FAILED
 * EXPECT_ERRNO(call, err)     fail unless call returns -1 / MAP_FAILED
 *                             with errno == err
 * probe_read(p) / probe_write(p, v)
 *                             0 if the access worked, else the signal
 *                             (SIGSEGV / SIGBUS) it raised
 */
#ifndef LIVE_COMMON_H
#define LIVE_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define MNT		"/sys/fs/mshare"
#define GRANULE		(2UL * 1024 * 1024)
#define MIB		(1024UL * 1024)

extern unsigned long live_checks;
extern const char *live_name;

void live_fail(const char *file, int line, const char *what, int err,
	       const char *fmt, ...) __attribute__((noreturn, format(printf, 5, 6)));

#define CHECK(cond) do {						\
	bool _ok = (cond);						\
	int _saved = errno;						\
	live_checks++;							\
	if (!_ok)							\
		live_fail(__FILE__, __LINE__, #cond, _saved, NULL);	\
} while (0)

#define CHECKF(cond, ...) do {						\
	bool _ok = (cond);						\
	int _saved = errno;						\
	live_checks++;							\
	if (!_ok)							\
		live_fail(__FILE__, __LINE__, #cond, _saved, __VA_ARGS__); \
} while (0)

/* call returns an integer or a pointer; -1 / MAP_FAILED is failure */
#define EXPECT_OK(call) ({						\
	errno = 0;							\
	intptr_t _r = (intptr_t)(call);					\
	int _e = errno;							\
	live_checks++;							\
	if (_r == -1)							\
		live_fail(__FILE__, __LINE__, #call, _e,		\
			  "expected success");				\
	_r;								\
})

#define EXPECT_ERRNO(call, err) do {					\
	errno = 0;							\
	intptr_t _r = (intptr_t)(call);					\
	int _e = errno;							\
	live_checks++;							\
	if (_r != -1 || _e != (err))					\
		live_fail(__FILE__, __LINE__, #call, _e,		\
			  "expected -1/%s, got %ld (errno %s)",		\
			  live_errname(err), (long)_r,			\
			  _r == -1 ? live_errname(_e) : "-");		\
} while (0)

/* Same, for functions returning NULL on failure. */
#define EXPECT_NULL_ERRNO(call, err) do {				\
	errno = 0;							\
	const void *_p = (call);					\
	int _e = errno;							\
	live_checks++;							\
	if (_p != NULL || _e != (err))					\
		live_fail(__FILE__, __LINE__, #call, _e,		\
			  "expected NULL/%s, got %p (errno %s)",	\
			  live_errname(err), _p, live_errname(_e));	\
} while (0)

const char *live_errname(int err);

/*
 * Start a test: records the name, the baseline of the mount's used pages,
 * arms a watchdog, and on failure removes what the test left in the mount.
 */
void live_init(const char *name);
/*
 * End a test: the mount root must hold only mshare_info and the used page
 * count must be back to the baseline; prints the number of checks; exit 0.
 */
void live_done(void) __attribute__((noreturn));

/* Run fn at exit (only in the process that registered it, failure or not). */
void live_atexit(void (*fn)(void));

/* statfs(mnt).f_blocks - f_bfree: pages held by the mount's regions. */
long used_pages(const char *mnt);
/* Wait up to ~2 s for used_pages(mnt) == want; return the last value seen. */
long wait_used_pages(const char *mnt, long want);
long page_size(void);

/* 0 if the access did not fault, else the signal number. */
int probe_read(const volatile void *addr);
int probe_write(volatile void *addr, unsigned char val);

/* Fill/verify a region with a pattern derived from seed (word granular). */
void fill_pattern(void *p, size_t len, uint64_t seed);
/* Returns -1 if it matches, else the offset of the first mismatch. */
long verify_pattern(const void *p, size_t len, uint64_t seed);
/*
 * The same for [base + off, base + off + len) of what fill_pattern(base, ...,
 * seed) wrote: -1 if it matches, else the offset (from base) of a mismatch.
 */
long verify_pattern_part(const void *base, size_t off, size_t len, uint64_t seed);
/* Returns -1 if all bytes are zero, else the first non-zero offset. */
long verify_zero(const void *p, size_t len);
/* Touch (write one byte to) every page of [p, p+len). */
void touch_pages(void *p, size_t len, unsigned char val);

/* MNT "/" name */
const char *mpath(const char *name);
/* Raw syscalls: open(MNT/name, O_RDWR|O_CREAT|O_EXCL, 0600) + ftruncate. */
int raw_create(const char *name, size_t size);
/* Raw mmap(NULL, size, prot, MAP_SHARED, fd, 0); CHECKed. */
void *raw_attach(int fd, size_t size, int prot);
/*
 * Open MNT/name (O_RDWR if prot has PROT_WRITE, else O_RDONLY), mmap size
 * bytes MAP_SHARED with prot, close: the window, or NULL (not CHECKed: for
 * children that report by exit status).
 */
void *attach_by_name(const char *name, size_t size, int prot);

/* fork; the child runs fn(arg) and _exit()s with its return value. */
pid_t spawn(int (*fn)(void *), void *arg);
/* fork; the child drops to uid/gid (no supplementary groups), runs fn. */
pid_t spawn_as(uid_t uid, gid_t gid, int (*fn)(void *), void *arg);
/* waitpid; exit status, or 128 + signal. */
int wait_status(pid_t pid);
/* Run fn(arg) in a child (as uid/gid if uid != 0) and return its status. */
int run_child(int (*fn)(void *), void *arg);
int run_child_as(uid_t uid, gid_t gid, int (*fn)(void *), void *arg);
/* Same, with ngroups supplementary groups (a member of those groups). */
pid_t spawn_as_groups(uid_t uid, gid_t gid, int ngroups, const gid_t *groups,
		      int (*fn)(void *), void *arg);
int run_child_as_groups(uid_t uid, gid_t gid, int ngroups, const gid_t *groups,
			int (*fn)(void *), void *arg);

/* Directory holding the project binaries ($MSHARE_TEST_BINDIR or ours). */
const char *bindir(void);
/* bindir() "/" name, or NULL if it is not there. */
const char *sibling(const char *name);
/*
 * fork + exec argv (argv[0] looked up with sibling() if it has no '/'),
 * stdout and stderr into out (NUL-terminated, truncated to outlen), return
 * the exit status (128 + signal if killed).  out may be NULL.
 */
int run_prog(char *const argv[], char *out, size_t outlen);
/* Same, but do not wait: returns the pid; *outfd reads the child's stdout. */
pid_t start_prog(char *const argv[], int *outfd);
/* Read all of fd into out (NUL-terminated), close fd. */
void read_all(int fd, char *out, size_t outlen);

/* Monotonic milliseconds. */
long now_ms(void);
/*
 * A deadline's length for this run: ms times the kernel's slowdown
 * (MSHARE_SLOWDOWN: 6 on the debug kernel, 2 on RT) and the host's
 * (MSHARE_SPEED, percent, measured by the harness: tests/vm/init.sh).
 * For deadlines (give up and fail after), never for durations.
 */
long wait_ms(long ms);
/* MSHARE_SLOWDOWN, MSHARE_SPEED / 100.0 (1 when unset or out of range). */
int live_slowdown(void);
double live_speed(void);

/*
 * A test made of named parts: live_run_parts() runs every part, or only
 * those named on the command line, announcing each on stderr.
 */
struct live_part {
	const char *name;
	void (*fn)(void);
};
void live_run_parts(const char *test, const struct live_part *parts, size_t n,
		    int argc, char **argv);

/* An anonymous PROT_NONE reservation of len bytes at a 2 MiB aligned address. */
void *reserve_aligned(size_t len);
/* The same, NULL if mmap fails (reserve_aligned() fails the test). */
void *reserve_aligned_or_null(size_t len);
/* Whether /proc/self/maps has a mapping exactly [start, start + len). */
bool maps_has(const void *start, size_t len);
/* Whether any mapping intersects [start, start + len). */
bool maps_overlaps(const void *start, size_t len);

/* ---- shared page tables: observables (see HACKING.md) ---- */

/* madvise values older glibc headers lack. */
#ifndef MADV_COLD
#define MADV_COLD		20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ	22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif

/* Pages of one 2 MiB chunk. */
#define CHUNK_PAGES	((long)(GRANULE / 4096))

/* Page faults (minor + major) of the calling process so far. */
long fault_count(void);
/* "KEY:  N kB" of /proc/PID/status (pid 0: self), e.g. "VmPTE"; -1 if absent. */
long status_kib(pid_t pid, const char *key);
/*
 * Whether the kernel gives shared memory 2 MiB pages (a tmpfs with
 * huge=always, probed once): not without THP (PREEMPT_RT), nor where the
 * page cache cannot hold them (CONFIG_BASE_SMALL, the debug kernel).
 */
bool shmem_thp_works(void);
/* "KEY: N kB" of the mapping starting at start in /proc/self/smaps; -1. */
long smaps_kib(const void *start, const char *key);
/* "KEY N" of /proc/vmstat (numa_hint_faults, ...); -1 if absent. */
long vmstat_num(const char *key);
/* "KEY: N kB" of /proc/meminfo, settled: after RCU grace periods and
 * with the per-CPU counters folded, three readings in a row agree. */
long meminfo_kib(const char *key);
/*
 * The same, once the value has not changed for 0.5 s (at most 3 s): a
 * baseline.  Page tables of processes that just exec'd or exited can be
 * freed a few hundred ms later on 6.12.
 */
long meminfo_quiet_kib(const char *key);
/* A marker line in the kernel log (to place warnings in the console log). */
void klog_mark(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Online CPUs; pin the calling thread to one of them (CHECKed). */
int cpus_online(void);
void cpu_pin(int cpu);
/* Read a small /proc or /sys file (trailing newline dropped); NULL if absent. */
const char *proc_read(const char *path);
/* Write text to a /proc or /sys file; 0 or -1 with errno set. */
int proc_write(const char *path, const char *text);
/* Pattern word i of seed (what fill_pattern() writes at offset 8 * i). */
uint64_t pattern_word(uint64_t seed, size_t i);
/*
 * Page tables of regions destroyed where no process could take them back
 * (exit, umount) wait in the module's pool, still counted in PageTables.
 * tables_pooled(): how many (MSHAREFS_GET_FS_STAT pt_pooled);
 * pool_drain_here(): destroy a region in this process, which hands the
 * pool back; returns what is pooled after (0 unless others add to it).
 */
long tables_pooled(void);
long pool_drain_here(void);
/*
 * Page tables outside the pool, in KiB: PageTables minus the pooled
 * tables.  A pooled table is counted in PageTables but is spare; a region
 * table taken from the pool leaves PageTables as it is, one the core
 * allocates adds 4 KiB.  This measure grows by 4 KiB for every new region
 * table wherever it comes from (and by processes' own tables), so a
 * test's expectation does not depend on what earlier tests left pooled
 * (regions destroyed at exit).  Read with meminfo_kib(), pooled count
 * unchanged across the read.  The _quiet variant waits as
 * meminfo_quiet_kib() does.
 */
long pt_unpooled_kib(void);
long pt_unpooled_quiet_kib(void);
/*
 * A second msharefs instance.  mount2_dir() makes its directory, m2
 * ("/tmp/<test>-m2-XXXXXX"); the test mounts msharefs there and keeps
 * m2_mounted up to date.  At exit an instance still mounted is detached and
 * the directory (unless m2 was emptied) removed.  p2(name): a path in it
 * (four buffers in turn).
 */
extern char m2[64];
extern bool m2_mounted;
void mount2_dir(void);
const char *p2(const char *name);
#endif /* LIVE_COMMON_H */
