// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-gup: what walks or pins the pages of a window through page tables
 * (get_user_pages and friends) works on shared tables.
 *
 * - O_DIRECT I/O from and to a brd ramdisk (/lib/brd.ko in the VM: the
 *   test fails without it): read into a window nobody touched in this mm
 *   (GUP faults it in: registration + link), into a 2 MiB aligned part of a
 *   window after MADV_DONTNEED, into a fork child's untouched inherited
 *   window (from the child); write from a window; a read into a read-only
 *   window fails with EFAULT and changes nothing.
 * - process_vm_readv/writev into another attacher's window, linked or
 *   untouched (a remote GUP registers and links the target's tables: the
 *   target then reads its window without a fault).
 * - /proc/PID/mem read and write, ptrace PEEKDATA/POKEDATA.
 * - The "unregistered" path: a fork child that never touched its window,
 *   read through /proc/PID/mem first (no lock drop allowed: a private
 *   table), then process_vm_readv (registration from a remote mm), and
 *   one poked with PTRACE_POKEDATA first; each returns / stores the right
 *   data, and the child then reads everything itself and writes.
 */
#include "agent.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define SZ		(8 * MIB)
#define NCH		((long)(SZ / GRANULE))
#define RW		(PROT_READ | PROT_WRITE)
#define BRD		"/lib/brd.ko"
#define RAM		"/dev/ram0"

static bool brd_loaded_here;
static char *buf;		/* SZ bytes, page aligned */

static void brd_unload(void)
{
	if (brd_loaded_here)
		syscall(SYS_delete_module, "brd", O_NONBLOCK);
}

static void brd_load(void)
{
	int mfd = open(BRD, O_RDONLY | O_CLOEXEC);
	long end;

	CHECKF(mfd >= 0, "%s is missing: the VM harness must provide the brd module for the "
	       "O_DIRECT tests", BRD);
	if (syscall(SYS_finit_module, mfd, "rd_nr=1 rd_size=8192", 0) == 0) {
		brd_loaded_here = true;
		live_atexit(brd_unload);
	} else {
		CHECKF(errno == EEXIST, "finit_module(%s): %s", BRD, live_errname(errno));
	}
	close(mfd);
	end = now_ms() + wait_ms(3000);
	while (access(RAM, F_OK)) {
		CHECKF(now_ms() < end, "%s did not appear after loading brd", RAM);
		usleep(10000);
	}
}

/* Put pattern seed on the ramdisk's first len bytes with ordinary writes. */
static void ram_put(size_t len, uint64_t seed)
{
	int dfd = EXPECT_OK(open(RAM, O_RDWR | O_CLOEXEC));

	fill_pattern(buf, len, seed);
	CHECK(pwrite(dfd, buf, len, 0) == (ssize_t)len);
	CHECK(fsync(dfd) == 0);
	close(dfd);
}

static int ram_direct(void)
{
	return EXPECT_OK(open(RAM, O_RDWR | O_DIRECT | O_CLOEXEC));
}

/* ---- O_DIRECT ---- */

struct child_io {
	char *w;
	uint64_t seed;
};

static int child_direct_read(void *arg)
{
	struct child_io *c = arg;
	int dfd = open(RAM, O_RDONLY | O_DIRECT);

	if (dfd < 0)
		return 2;
	/* the inherited window is untouched in this mm */
	if (pread(dfd, c->w, SZ, 0) != (ssize_t)SZ)
		return 3;
	if (verify_pattern(c->w, SZ, c->seed) != -1)
		return 4;
	return 0;
}

static void o_direct(void)
{
	struct agent o;
	struct child_io ci;
	char *w, *wr;
	int fd, dfd, st;

	brd_load();
	fd = raw_create("gup-dio", SZ);
	agent_fork(&o, "O(fork,rw)");
	AGENT(&o, "open gup-dio rw");
	AGENT(&o, "attach rw");
	AGENT(&o, "touch r");

	/* the device itself works with O_DIRECT into ordinary memory */
	ram_put(SZ, 70);
	dfd = ram_direct();
	memset(buf, 0, SZ);
	CHECK(pread(dfd, buf, SZ, 0) == (ssize_t)SZ);
	CHECKF(verify_pattern(buf, SZ, 70) == -1, "brd O_DIRECT read into anonymous memory");

	/* into a window never touched in this mm */
	w = raw_attach(fd, SZ, RW);
	klog_mark("O_DIRECT read into an untouched window");
	CHECKF(pread(dfd, w, SZ, 0) == (ssize_t)SZ, "O_DIRECT read into a window");
	CHECKF(verify_pattern(w, SZ, 70) == -1, "O_DIRECT read: window contents");
	CHECK(reply_num(AGENT(&o, "verify 70"), 0) == 0);

	/* from a window (written by another attacher) */
	AGENT(&o, "fill 71");
	klog_mark("O_DIRECT write from a window");
	CHECK(pwrite(dfd, w, SZ, 0) == (ssize_t)SZ);
	memset(buf, 0, SZ);
	CHECK(pread(dfd, buf, SZ, 0) == (ssize_t)SZ);
	CHECKF(verify_pattern(buf, SZ, 71) == -1, "O_DIRECT write from a window: device contents");

	/* into a 2 MiB aligned part, after the window's tables were unlinked */
	ram_put(GRANULE, 72);
	CHECK(madvise(w, SZ, MADV_DONTNEED) == 0);
	klog_mark("O_DIRECT read into chunk 2 after MADV_DONTNEED");
	CHECK(pread(dfd, w + 2 * GRANULE, GRANULE, 0) == (ssize_t)GRANULE);
	CHECK(verify_pattern(w + 2 * GRANULE, GRANULE, 72) == -1);
	CHECK(verify_pattern(w, 2 * GRANULE, 71) == -1);
	{
		struct iovec l = { buf, GRANULE }, r = { (char *)o.addr + 2 * GRANULE, GRANULE };

		CHECK(process_vm_readv(o.pid, &l, 1, &r, 1, 0) == (ssize_t)GRANULE);
		CHECKF(verify_pattern(buf, GRANULE, 72) == -1, "another attacher's view of chunk 2");
	}

	/* into a read-only window: EFAULT, nothing changes */
	ram_put(SZ, 73);
	fill_pattern(w, SZ, 74);
	wr = raw_attach(fd, SZ, PROT_READ);
	errno = 0;
	CHECKF(pread(dfd, wr, SZ, 0) == -1 && errno == EFAULT,
	       "O_DIRECT read into a read-only window: want EFAULT");
	CHECK(verify_pattern(w, SZ, 74) == -1 && verify_pattern(wr, SZ, 74) == -1);
	CHECK(munmap(wr, SZ) == 0);

	/* a fork child reads into its inherited, untouched window */
	ci.w = raw_attach(fd, SZ, RW);	/* a window this process never touches */
	ci.seed = 73;
	st = run_child(child_direct_read, &ci);
	CHECKF(st == 0, "fork child's O_DIRECT read into its untouched window: status %d", st);
	CHECK(verify_pattern(ci.w, SZ, 73) == -1);
	CHECK(reply_num(AGENT(&o, "verify 73"), 0) == 0);
	CHECK(munmap(ci.w, SZ) == 0);

	close(dfd);
	agent_stop(&o);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("gup-dio")) == 0);
}

/* ---- process_vm_*, /proc/PID/mem, ptrace on agents ---- */

static ssize_t vm_rw(pid_t pid, void *remote, size_t len, bool write)
{
	struct iovec l = { buf, len }, r = { remote, len };

	return write ? process_vm_writev(pid, &l, 1, &r, 1, 0) :
		       process_vm_readv(pid, &l, 1, &r, 1, 0);
}

static int proc_mem(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	return EXPECT_OK(open(path, O_RDWR | O_CLOEXEC));
}

static void seize(pid_t pid)
{
	int st;

	CHECK(ptrace(PTRACE_SEIZE, pid, 0, 0) == 0);
	CHECK(ptrace(PTRACE_INTERRUPT, pid, 0, 0) == 0);
	CHECK(waitpid(pid, &st, __WALL) == pid && WIFSTOPPED(st));
}

static void remote_access(void)
{
	struct agent a, b;
	long v0, f;
	const char *r;
	char *w;
	int fd, mfd;

	fd = raw_create("gup-remote", SZ);
	w = raw_attach(fd, SZ, RW);
	fill_pattern(w, SZ, 90);
	agent_fork(&a, "A(fork,linked)");
	AGENT(&a, "open gup-remote rw");
	AGENT(&a, "attach rw");
	AGENT(&a, "touch r");
	agent_exec(&b, "B(exec,untouched)");
	AGENT(&b, "open gup-remote rw");
	AGENT(&b, "attach rw");

	/* process_vm_writev / readv into a linked window */
	fill_pattern(buf, SZ, 91);
	CHECK(vm_rw(a.pid, a.addr, SZ, true) == (ssize_t)SZ);
	CHECK(reply_num(AGENT(&a, "verify 91"), 0) == 0);
	CHECK(verify_pattern(w, SZ, 91) == -1);
	memset(buf, 0, SZ);
	CHECK(vm_rw(a.pid, a.addr, SZ, false) == (ssize_t)SZ);
	CHECK(verify_pattern(buf, SZ, 91) == -1);

	/* process_vm_readv of an untouched window: the remote GUP links its tables */
	v0 = status_kib(b.pid, "VmPTE");
	memset(buf, 0, SZ);
	klog_mark("process_vm_readv of an untouched window");
	CHECK(vm_rw(b.pid, b.addr, SZ, false) == (ssize_t)SZ);
	CHECK(verify_pattern(buf, SZ, 91) == -1);
	fprintf(stderr, "  B after a remote process_vm_readv: VmPTE +%ld KiB\n",
		status_kib(b.pid, "VmPTE") - v0);
	CHECKF(status_kib(b.pid, "VmPTE") - v0 <= 16, "B's VmPTE grew by %ld KiB: private tables",
	       status_kib(b.pid, "VmPTE") - v0);
	r = AGENT(&b, "touch r");
	CHECKF(reply_num(r, 0) == 0, "B took %ld faults after a remote GUP linked its window",
	       reply_num(r, 0));
	CHECK(reply_num(AGENT(&b, "verify 91"), 0) == 0);

	/* /proc/PID/mem */
	mfd = proc_mem(a.pid);
	fill_pattern(buf, SZ, 92);
	klog_mark("/proc/PID/mem write");
	CHECK(pwrite(mfd, buf, SZ, (off_t)(uintptr_t)a.addr) == (ssize_t)SZ);
	CHECK(reply_num(AGENT(&a, "verify 92"), 0) == 0);
	CHECK(reply_num(AGENT(&b, "verify 92"), 0) == 0);
	CHECK(verify_pattern(w, SZ, 92) == -1);
	memset(buf, 0, SZ);
	CHECK(pread(mfd, buf, SZ, (off_t)(uintptr_t)a.addr) == (ssize_t)SZ);
	CHECK(verify_pattern(buf, SZ, 92) == -1);
	close(mfd);

	/* ptrace */
	seize(a.pid);
	for (size_t off = 0; off < SZ; off += GRANULE / 2 + 8) {
		uint64_t v = 0x1122334455667788ULL ^ off;
		long got;

		errno = 0;
		got = ptrace(PTRACE_PEEKDATA, a.pid, (char *)a.addr + (off & ~7UL), 0);
		CHECK(errno == 0 && (uint64_t)got == pattern_word(92, (off & ~7UL) / 8));
		CHECK(ptrace(PTRACE_POKEDATA, a.pid, (char *)a.addr + (off & ~7UL), (void *)v) == 0);
		CHECKF(*(uint64_t *)(w + (off & ~7UL)) == v, "PTRACE_POKEDATA at %zu not in the region",
		       off & ~7UL);
		*(uint64_t *)(w + (off & ~7UL)) = pattern_word(92, (off & ~7UL) / 8);
	}
	CHECK(ptrace(PTRACE_DETACH, a.pid, 0, 0) == 0);
	f = reply_num(AGENT(&a, "verify 92"), 0);
	CHECK(f == 0);

	agent_stop(&a);
	agent_stop(&b);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("gup-remote")) == 0);
}

/* ---- fork children that never touched their window ---- */

static char *cw;	/* the window the children inherit */

static int untouched_child(void *arg)
{
	int *p = arg;
	char c;
	long off;

	close(p[1]);
	if (read(p[0], &c, 1) != 1)	/* the test reads/pokes us meanwhile */
		return 2;
	off = verify_pattern(cw, SZ, (uint64_t)c);
	if (off != -1) {
		fprintf(stderr, "untouched child: pattern %d: mismatch at %ld\n", c, off);
		return 3;
	}
	fill_pattern(cw, SZ, (uint64_t)c + 1);
	return 0;
}

static pid_t start_untouched(int p[2])
{
	pid_t pid;

	CHECK(pipe(p) == 0);
	pid = spawn(untouched_child, p);
	close(p[0]);
	return pid;
}

static void unregistered(void)
{
	int fd = raw_create("gup-fork", SZ), p[2], mfd, st;
	long v0, v1;
	pid_t c;

	cw = raw_attach(fd, SZ, RW);
	fill_pattern(cw, SZ, 60);

	/* /proc/PID/mem first (private fallback), then process_vm_readv */
	c = start_untouched(p);
	v0 = status_kib(c, "VmPTE");
	mfd = proc_mem(c);
	memset(buf, 0, SZ);
	klog_mark("/proc/PID/mem read of an untouched fork child's window");
	CHECK(pread(mfd, buf + GRANULE, GRANULE, (off_t)(uintptr_t)(cw + GRANULE)) ==
	      (ssize_t)GRANULE);
	CHECKF(memcmp(buf + GRANULE, cw + GRANULE, GRANULE) == 0,
	       "/proc/PID/mem read of an untouched window: wrong data");
	v1 = status_kib(c, "VmPTE");
	klog_mark("process_vm_readv of the same child's window");
	CHECK(vm_rw(c, cw, GRANULE, false) == (ssize_t)GRANULE);
	CHECK(memcmp(buf, cw, GRANULE) == 0);
	{
		struct iovec l = { buf + 2 * GRANULE, 2 * GRANULE }, r = { cw + 2 * GRANULE, 2 * GRANULE };

		CHECK(process_vm_readv(c, &l, 1, &r, 1, 0) == (ssize_t)(2 * GRANULE));
	}
	CHECKF(verify_pattern(buf, SZ, 60) == -1, "remote reads of an untouched child's window");
	fprintf(stderr, "  child: VmPTE %ld KiB, %+ld after /proc/PID/mem, %+ld after "
		"process_vm_readv\n", v0, v1 - v0, status_kib(c, "VmPTE") - v1);
	/* /proc/PID/mem write into the chunk the child maps privately now */
	memcpy(buf, cw + GRANULE, 4096);
	((uint64_t *)buf)[3] ^= 0xff;
	CHECK(pwrite(mfd, buf, 4096, (off_t)(uintptr_t)(cw + GRANULE)) == 4096);
	CHECKF(((uint64_t *)(cw + GRANULE))[3] == (pattern_word(60, GRANULE / 8 + 3) ^ 0xff),
	       "/proc/PID/mem write through the child's private table not in the region");
	((uint64_t *)(cw + GRANULE))[3] ^= 0xff;
	close(mfd);
	CHECK(write(p[1], "\x3c", 1) == 1);	/* 60: verify it, then write 61 */
	st = wait_status(c);
	close(p[1]);
	CHECKF(st == 0, "untouched child (read remotely first) status %d", st);
	CHECK(verify_pattern(cw, SZ, 61) == -1);

	/* PTRACE_POKEDATA first: a write into an unregistered window */
	c = start_untouched(p);
	seize(c);
	klog_mark("PTRACE_POKEDATA into an untouched fork child's window");
	for (long k = 0; k < NCH; k++) {
		char *a = cw + k * GRANULE + 4096 * (size_t)k + 16;
		uint64_t v = pattern_word(61, (size_t)(a - cw) / 8) ^ 0x5a5a;

		CHECK(ptrace(PTRACE_POKEDATA, c, a, (void *)v) == 0);
		CHECKF(*(uint64_t *)a == v, "PTRACE_POKEDATA into chunk %ld not in the region", k);
		errno = 0;
		CHECK((uint64_t)ptrace(PTRACE_PEEKDATA, c, a, 0) == v && errno == 0);
		*(uint64_t *)a ^= 0x5a5a;
	}
	CHECK(ptrace(PTRACE_DETACH, c, 0, 0) == 0);
	CHECK(write(p[1], "\x3d", 1) == 1);	/* 61: verify, write 62 */
	st = wait_status(c);
	close(p[1]);
	CHECKF(st == 0, "untouched child (poked first) status %d", st);
	CHECK(verify_pattern(cw, SZ, 62) == -1);

	CHECK(munmap(cw, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("gup-fork")) == 0);
}

int main(void)
{
	live_init("live-gup");
	CHECK(posix_memalign((void **)&buf, 4096, SZ) == 0);
	unregistered();
	remote_access();
	o_direct();
	free(buf);
	live_done();
}
