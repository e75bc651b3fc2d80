// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-exit: an attacher whose mm goes away never takes the shared tables
 * with it.  With two observers (a fork child RW, an exec'd O_RDONLY
 * attacher) and the test holding the region, all linked, a victim attacher
 * with every table linked:
 *   exits (fork child, exec'd library attacher that never detaches),
 *   is killed with SIGKILL (idle, spinning on its window, two threads
 *   spinning on two CPUs),
 *   execs /bin/true (itself, a fork child, from a two-thread process,
 *   vfork + exec from the test),
 *   is killed and reaped with process_mrelease() (the OOM reaper path,
 *   which unmaps the non-VM_SHARED O_RDONLY window of a live mm).
 * After each, every holder re-reads the region without a single fault and
 * writes are seen both ways.
 * Then 50 times: a fresh region, a victim (one or two threads, RW or
 * O_RDONLY) faulting it in, SIGKILL at a random moment (from right after
 * fork to after the whole region is linked), sometimes process_mrelease;
 * the test and an observer then find every word 0 or the victim's pattern.
 */
#include "agent.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SZ		(16 * MIB)
#define NCH		((long)(SZ / GRANULE))
#define KSZ		(8 * MIB)	/* the regions of the kill loop */
#define KNCH		((long)(KSZ / GRANULE))
#define ROUNDS		50
#define RW		(PROT_READ | PROT_WRITE)

static struct agent obs[2];	/* 0: fork RW, 1: exec O_RDONLY */
static char *w;
static int fd;
static uint64_t seed = 1;

static void holders_intact(const char *what, int line)
{
	long f0, off;

	for (int i = 0; i < 2; i++) {
		long f = reply_num(AGENT(&obs[i], "verify %llu", (unsigned long long)seed), 0);

		CHECKF(f == 0, "after %s (line %d): observer %s took %ld faults: its tables "
		       "were unlinked or zapped by another process's exit", what, line,
		       obs[i].name, f);
	}
	f0 = fault_count();
	off = verify_pattern(w, SZ, seed);
	f0 = fault_count() - f0;
	CHECKF(off == -1, "after %s (line %d): the test's window differs at %ld", what, line, off);
	CHECKF(f0 == 0, "after %s (line %d): the test took %ld faults re-reading its window",
	       what, line, f0);
}

static void after(const char *what, int line)
{
	long f0;

	holders_intact(what, line);
	seed++;
	f0 = fault_count();
	fill_pattern(w, SZ, seed);
	CHECK(fault_count() == f0);
	holders_intact(what, line);
	seed++;
	CHECK(reply_num(AGENT(&obs[0], "fill %llu", (unsigned long long)seed), 0) == 0);
	holders_intact(what, line);
	klog_mark("done: %s", what);
}
#define AFTER(what) after(what, __LINE__)

/* A victim agent with the region attached and every table linked. */
static void victim(struct agent *v, const char *name, bool exec, bool lib)
{
	if (exec)
		agent_exec(v, name);
	else
		agent_fork(v, name);
	AGENT(v, lib ? "lopen exit rw" : "open exit rw");
	AGENT(v, lib ? "attach rw lib" : "attach rw");
	AGENT(v, "touch w");
	AGENT(v, "verify %llu", (unsigned long long)seed);
	klog_mark("victim %s (pid %d) ready", name, (int)v->pid);
}

/* ---- threads spinning on a window ---- */

struct spin {
	char *w;
	size_t size;
	int cpu;
	bool write;
	_Atomic long *count;
};

static void *spinner(void *arg)
{
	struct spin *s = arg;
	size_t ps = (size_t)page_size();

	cpu_pin(s->cpu % cpus_online());
	for (size_t o = 0;; o = (o + ps) % s->size) {
		if (s->write)
			((volatile char *)s->w)[o] = s->w[o];
		else
			(void)((volatile char *)s->w)[o];
		atomic_fetch_add_explicit(s->count, 1, memory_order_relaxed);
	}
	return NULL;
}

static _Atomic long *shared_count(void)
{
	_Atomic long *c = mmap(NULL, 4096, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	CHECK(c != MAP_FAILED);
	return c;
}

static void wait_count(_Atomic long *c, long want)
{
	long end = now_ms() + wait_ms(10000);

	while (atomic_load(c) < want) {
		CHECKF(now_ms() < end, "spinners did not start (count %ld)", atomic_load(c));
		usleep(1000);
	}
}

/* Child: two threads spin on the test's window (inherited), on two CPUs. */
static pid_t two_spinners(_Atomic long *count, bool then_exec)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		static struct spin s[2];
		pthread_t t;

		for (int i = 0; i < 2; i++) {
			s[i] = (struct spin){ w, SZ, i, i == 1, count };
			if (pthread_create(&t, NULL, spinner, &s[i]))
				_exit(3);
		}
		if (then_exec) {
			while (atomic_load(count) < 20000)
				usleep(1000);
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		for (;;)
			pause();
	}
	return pid;
}

/* ---- the kill loop ---- */

static long vpartial(const char *p, size_t len, uint64_t s)
{
	const uint64_t *wd = (const uint64_t *)p;
	long set = 0;

	for (size_t i = 0; i < len / 8; i++) {
		if (!wd[i])
			continue;
		CHECKF(wd[i] == pattern_word(s, i), "word at %zu is %#llx: neither 0 nor pattern %llu",
		       i * 8, (unsigned long long)wd[i], (unsigned long long)s);
		set++;
	}
	return set;
}

struct kvictim {
	int fd;
	bool ro;
	int threads;
	uint64_t seed;
};

/* Fault the region in, one pattern word per page (a thread does its half). */
static void *kfill(void *arg)
{
	struct kvictim *k = arg;
	static _Atomic int next;
	int me = atomic_fetch_add(&next, 1) % 2;
	size_t wpp = (size_t)page_size() / 8, npg = KSZ / (size_t)page_size();
	size_t first = k->threads == 1 ? 0 : (size_t)me * npg / 2;
	size_t last = k->threads == 1 ? npg : ((size_t)me + 1) * npg / 2;

	cpu_pin(me % cpus_online());
	for (;;) {
		uint64_t *p = mmap(NULL, KSZ, k->ro ? PROT_READ : RW, MAP_SHARED, k->fd, 0);
		unsigned long sum = 0;

		if (p == MAP_FAILED)
			_exit(4);
		for (size_t pg = first; pg < last; pg++) {
			if (k->ro)
				sum += ((volatile uint64_t *)p)[pg * wpp];
			else
				p[pg * wpp] = pattern_word(k->seed, pg * wpp);
		}
		(void)sum;
		munmap(p, KSZ);
	}
	return NULL;
}

static int kill_victim(void *arg)
{
	struct kvictim *k = arg;
	pthread_t t;

	if (k->threads == 2 && pthread_create(&t, NULL, kfill, k))
		return 3;
	kfill(k);
	return 0;
}

static void kill_loop(void)
{
	long used0 = used_pages(MNT), t_fill, f0, set, mreleased = 0, hit_fresh = 0;
	size_t wpp = (size_t)page_size() / 8, npg = KSZ / (size_t)page_size();
	struct agent ko;
	unsigned int rnd = (unsigned int)now_ms();

	/* how long a victim takes to fault in a fresh region */
	{
		int kfd = raw_create("kill-cal", KSZ);
		char *p = raw_attach(kfd, KSZ, RW);
		long t0 = now_ms();

		touch_pages(p, KSZ, 1);
		t_fill = now_ms() - t0;
		CHECK(munmap(p, KSZ) == 0);
		close(kfd);
		CHECK(unlink(mpath("kill-cal")) == 0);
		if (t_fill < 2)
			t_fill = 2;
	}
	agent_fork(&ko, "K(fork,rw)");
	fprintf(stderr, "  faulting in a fresh %lu MiB region takes %ld ms\n", KSZ / MIB, t_fill);

	for (int i = 0; i < ROUNDS; i++) {
		struct kvictim k = {
			.ro = i % 5 == 4,
			.threads = 1 + (i & 1),
			.seed = 1000 + (uint64_t)i,
		};
		long delay_us = (long)(rand_r(&rnd) % (unsigned int)(t_fill * 1500));
		int pidfd, st, kfd;
		char *p;
		pid_t pid;

		if (i < 3)
			delay_us = i * 50;	/* during fork, registration, first fault */
		kfd = raw_create("kill", KSZ);
		p = raw_attach(kfd, KSZ, RW);
		k.fd = k.ro ? EXPECT_OK(open(mpath("kill"), O_RDONLY)) : kfd;
		AGENT(&ko, "open kill rw");
		AGENT(&ko, "attach rw");
		klog_mark("kill round %d: %s, %d thread(s), SIGKILL after %ld us", i,
			  k.ro ? "O_RDONLY" : "RW", k.threads, delay_us);
		pid = spawn(kill_victim, &k);
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		CHECK(pidfd >= 0);
		usleep((useconds_t)delay_us);
		if (used_pages(MNT) < used0 + (long)(KSZ / (size_t)page_size()))
			hit_fresh++;	/* killed while the region was still being built */
		CHECK(syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0);
		if (i % 3 == 0 && syscall(SYS_process_mrelease, pidfd, 0) == 0)
			mreleased++;
		st = wait_status(pid);
		close(pidfd);
		CHECKF(st == 128 + SIGKILL, "round %d: victim status %d", i, st);
		if (k.ro)
			close(k.fd);

		/* the test: every word 0 or the victim's pattern */
		f0 = fault_count();
		set = vpartial(p, KSZ, k.seed);
		CHECKF(fault_count() - f0 <= KNCH + 8, "round %d: %ld faults", i, fault_count() - f0);
		CHECK(!k.ro || set == 0);
		/* an observer that attaches after the kill sees the same */
		{
			const char *r = AGENT(&ko, "vpartial %llu", (unsigned long long)k.seed);

			CHECKF(reply_num(r, 1) == set, "round %d: observer sees %ld pattern words, "
			       "the test %ld", i, reply_num(r, 1), set);
		}
		/* both still write and read each other */
		for (size_t pg = 0; pg < npg; pg++)
			((uint64_t *)p)[pg * wpp] = pattern_word(k.seed + 1, pg * wpp);
		{
			const char *r = AGENT(&ko, "vpartial %llu", (unsigned long long)k.seed + 1);

			CHECKF(reply_num(r, 0) == 0 && reply_num(r, 1) == (long)npg,
			       "round %d: observer after the test's writes: %s", i, r);
		}
		AGENT(&ko, "detach");
		AGENT(&ko, "close");
		CHECK(munmap(p, KSZ) == 0);
		close(kfd);
		CHECK(unlink(mpath("kill")) == 0);
		CHECKF(wait_used_pages(MNT, used0) == used0, "round %d: region pages not freed", i);
	}
	agent_stop(&ko);
	fprintf(stderr, "  %d kill rounds: %ld while the region was being built, "
		"%ld reaped by process_mrelease\n", ROUNDS, hit_fresh, mreleased);
}

int main(void)
{
	struct agent v;
	_Atomic long *count;
	pid_t pid;
	int st;

	live_init("live-exit");
	CHECKF(cpus_online() >= 2, "the VM must have 2 CPUs (has %d)", cpus_online());
	fd = raw_create("exit", SZ);
	w = raw_attach(fd, SZ, RW);
	fill_pattern(w, SZ, seed);
	agent_fork(&obs[0], "O1(fork,rw)");
	agent_exec(&obs[1], "O2(exec,O_RDONLY)");
	AGENT(&obs[0], "open exit rw");
	AGENT(&obs[0], "attach rw");
	AGENT(&obs[1], "open exit ro");
	AGENT(&obs[1], "attach r");
	AGENT(&obs[0], "touch r");
	AGENT(&obs[1], "touch r");
	AFTER("setup");

	/* ---- exit ---- */
	victim(&v, "V(fork)", false, false);
	agent_stop(&v);
	AFTER("exit of a fork child");
	victim(&v, "V(exec,lib)", true, true);
	agent_stop(&v);	/* without mdetach */
	AFTER("exit of an exec'd library attacher");

	/* ---- SIGKILL ---- */
	victim(&v, "V(fork)", false, false);
	CHECK(agent_kill(&v) == 128 + SIGKILL);
	AFTER("SIGKILL of an idle attacher");
	victim(&v, "V(exec)", true, false);
	AGENT(&v, "spin");
	usleep(200000);
	CHECK(agent_kill(&v) == 128 + SIGKILL);
	AFTER("SIGKILL of an attacher spinning on its window");
	count = shared_count();
	pid = two_spinners(count, false);
	wait_count(count, 20000);
	CHECK(kill(pid, SIGKILL) == 0);
	CHECK(wait_status(pid) == 128 + SIGKILL);
	AFTER("SIGKILL of two threads spinning on two CPUs");

	/* ---- execve ---- */
	victim(&v, "V(fork)", false, false);
	AGENT(&v, "exec /bin/true");
	st = agent_wait(&v);
	CHECKF(st == 0, "/bin/true exec'd by the victim: status %d", st);
	AFTER("execve by an attacher");
	victim(&v, "V(exec)", true, false);
	CHECK(strcmp(AGENT(&v, "forkexec /bin/true"), "0") == 0);
	agent_stop(&v);
	AFTER("execve by a fork child of an attacher");
	atomic_store(count, 0);
	pid = two_spinners(count, true);
	st = wait_status(pid);
	CHECKF(st == 0, "exec from a two-thread attacher: status %d", st);
	AFTER("execve by a two-thread attacher");
	pid = vfork();
	CHECK(pid >= 0);
	if (pid == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	CHECK(wait_status(pid) == 0);
	AFTER("vfork + execve from the test");
	CHECK(system("true") == 0);
	AFTER("system()");

	/* ---- process_mrelease: the OOM reaper's unmap of a live mm ---- */
	for (int i = 0; i < 3; i++) {
		int pidfd;
		long r;

		agent_fork(&v, "V(O_RDONLY)");
		AGENT(&v, "open exit ro");
		AGENT(&v, "attach r");
		AGENT(&v, "touch r");
		if (i)
			AGENT(&v, "spin");
		pidfd = (int)syscall(SYS_pidfd_open, v.pid, 0);
		CHECK(pidfd >= 0);
		CHECK(syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0);
		r = syscall(SYS_process_mrelease, pidfd, 0);
		fprintf(stderr, "  process_mrelease -> %ld (%s)\n", r, r ? live_errname(errno) : "ok");
		CHECKF(r == 0 || errno == ESRCH || errno == EINVAL || errno == EAGAIN,
		       "process_mrelease: %s", live_errname(errno));
		close(pidfd);
		CHECK(agent_kill(&v) == 128 + SIGKILL);
		AFTER("SIGKILL + process_mrelease");
	}

	/* ---- SIGKILL at random moments while faulting fresh regions ---- */
	kill_loop();
	AFTER("kill loop");

	agent_stop(&obs[0]);
	agent_stop(&obs[1]);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("exit")) == 0);
	live_done();
}
