// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-stress-random: randomized operations on regions by a population of
 * worker processes, every result checked against a model.
 *
 * One coordinator (this process) owns the model and a seeded PRNG
 * (MSHARE_STRESS_SEED, printed; default from the clock).  It picks an
 * operation and a worker, sends the worker the command over a socket
 * (SOCK_SEQPACKET, one command, one reply), and judges the reply:
 * success or the errno the contract documents for that exact situation,
 * and for data accesses the bytes or the signal the model predicts.
 *
 * Workers (3..8 processes) hold up to 4 region fds and 4 windows each.
 * Operations: open (O_CREAT, O_CREAT|O_EXCL, plain, O_TRUNC; read-write or
 * read-only; missing names), close, ftruncate/fallocate (valid and invalid
 * sizes, read-only fds, set twice), mmap (kernel-chosen address, MAP_FIXED
 * at an aligned reservation, and every EINVAL/EACCES case), munmap, partial
 * munmap / mprotect (EINVAL), MSHAREFS_CREATE_MAPPING / MSHAREFS_UNMAP /
 * MSHAREFS_PROTECT (valid ranges, and one defect at a time: read-only fd,
 * unsized region, unaligned or oversized or overflowing ranges, bad prot,
 * bad flags, file-backed sources, bad pointer, directory and mshare_info
 * fds, unknown requests), MSHAREFS_GET_REGION_STAT / MSHAREFS_GET_FS_STAT
 * (numbers checked against the model), read and write of a segment through
 * a window, fork (the child becomes a worker with the parent's fds and
 * windows), exit, SIGKILL (the population is refilled), unlink; and now and
 * then a concurrent phase (below).
 *
 * The model (per region instance, per 256 KiB segment, an eighth of a
 * granule, so that the range ioctls change parts of granules and ranges
 * across granule boundaries as well as whole granules): hole or mapped,
 * the range protection, the content version, whether memory is surely /
 * maybe allocated (bounds for resident_pages and the mount's used pages;
 * the bounds assume 4 KiB pages: shmem_enabled=never, Debian's default).
 * A segment is checked through 128 sample words (two per page): a write of
 * version v stores word(region, segment, i, v) = v << 32 | hash; a read
 * expects exactly the model's version (all zero after CREATE_MAPPING or
 * ftruncate), and a "full" read also checks that every other word is zero.
 * Expected signals (msharefs(7) "Page faults"): SIGSEGV for a hole, for a
 * write unless both window and range have PROT_WRITE, for any access to a
 * PROT_NONE range; never SIGBUS (no limits are set).  Every window here
 * has PROT_READ, and a range with any protection bit (also only PROT_WRITE
 * or only PROT_EXEC, as with mprotect on x86) can be read.  Instruction
 * fetches are not tried.
 *
 * Concurrent phase: 1-3 workers with a window on one region hammer it
 * (random single-word reads and writes on random segments) while another
 * worker issues CREATE_MAPPING / UNMAP / PROTECT on random ranges of it.
 * The coordinator publishes per segment, in shared memory, the model state
 * and a sequence number, marked "pending" from before the command is sent
 * until after the reply came.  A hammer access bracketed by two equal,
 * not pending, readings of its segment's state must have exactly the
 * outcome that state predicts (SIGSEGV for a hole or a forbidden access,
 * success otherwise: UNMAP and PROTECT take effect for everyone when the
 * ioctl returns); any read must see zero or a valid word of that region
 * and segment; the only signal is SIGSEGV.  Afterwards each segment's
 * content is "any valid word".
 *
 * The run stops after MSHARE_STRESS_SECONDS (default 60) or
 * MSHARE_STRESS_OPS operations, or at the first failure (the model is
 * then no longer trusted); then every worker goes, every name is unlinked,
 * and the mount's counters must be back at the baseline.  Printed: seed,
 * operations per kind, failures, elapsed time; on a failure the seed, the
 * step and the last operations.  MSHARE_STRESS_VERBOSE=1 prints every
 * operation.  To narrow a problem down: MSHARE_STRESS_PHASES=0 leaves out
 * the concurrent phases, MSHARE_STRESS_SKIP_IOCTLS=1 the three range ioctls
 * (for a module without them; the test then does not cover them).  The
 * seed, each concurrent phase (with the pids in it) and progress are also
 * written to the kernel log, to place an oops.
 */
#include "stress.h"

#include <fcntl.h>
#include <linux/msharefs.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NNAMES		4	/* region names r0..r3 */
#define MAXINST		8	/* region instances alive at once (memory bound) */
#define MAXG		8	/* granules per region */
#define SPG		8	/* model segments per granule (256 KiB, 64 pages) */
#define SEG		(GRANULE / SPG)
#define MAXS		(MAXG * SPG)
#define MAXW		8	/* workers */
#define MINW		3
#define NFD		4	/* fd slots per worker */
#define NWIN		4	/* window slots per worker */
#define NSAMP		((int)(SEG / PS) * 2)	/* sample words per segment */
#define PS		4096UL
#define GPAGES		((int)(GRANULE / PS))
#define SPAGES		((int)(SEG / PS))
#define VER_ANY		UINT32_MAX
#define REPLY_MS	60000
#define CLOSED_FD	999
#define MAXHAMMER	3
#define P_R		PROT_READ
#define P_W		PROT_WRITE
#define P_X		PROT_EXEC
#define P_ALL		(P_R | P_W | P_X)

/* ---------------------------------------------------------------- */
/* Patterns                                                          */

static inline size_t samp_off(int g, int i)
{
	size_t page = (size_t)i >> 1;
	size_t w = (i & 1) ? 1 + (page * 37 + (size_t)g * 11) % 511 : 0;

	return page * PS + w * 8;
}

static inline uint64_t pword(uint32_t inst, int g, int i, uint32_t ver)
{
	return ((uint64_t)ver << 32) | (uint32_t)mix64(inst, (uint64_t)g, (uint64_t)i, ver);
}

static inline bool pvalid(uint32_t inst, int g, int i, uint64_t w)
{
	uint32_t v = (uint32_t)(w >> 32);

	return v && v != VER_ANY && (uint32_t)w == (uint32_t)mix64(inst, (uint64_t)g, (uint64_t)i, v);
}

/* ver 0: zero; VER_ANY: zero or any valid word; else exactly that version. */
static inline bool word_ok(uint32_t inst, int g, int i, uint32_t ver, uint64_t w)
{
	if (ver == 0)
		return w == 0;
	if (ver == VER_ANY)
		return w == 0 || pvalid(inst, g, i, w);
	return w == pword(inst, g, i, ver);
}

/* ---------------------------------------------------------------- */
/* Protocol                                                          */

enum wop {
	W_OPEN, W_CLOSE, W_FTRUNC, W_FALLOC, W_MMAP, W_MUNMAP, W_WINBAD,
	W_IOCTL, W_READ, W_WRITE, W_FORK, W_EXIT, W_HAMMER, W_UNLINK,
};

/* W_MMAP variants */
enum { MV_ANY, MV_FIXED, MV_FIXED_UNALIGNED };
/* W_WINBAD variants */
enum { WB_PARTIAL_MUNMAP, WB_MPROTECT };
/* W_IOCTL: which fd */
enum { IF_REGION, IF_DIR, IF_INFO };
/* W_IOCTL: the fd field of struct mshare_create */
enum { FS_ANON, FS_LITERAL, FS_SELF, FS_INFO, FS_DIR, FS_ZERO, FS_CLOSED };
/* W_IOCTL: the pointer */
enum { PTR_OK, PTR_NULL, PTR_BAD };
/* W_READ/W_WRITE status */
enum { RS_OK, RS_SIG, RS_MISMATCH };

struct cmd {
	int op;
	int slot;		/* fd slot */
	int win;		/* window slot */
	int flags;		/* open / mmap flags */
	int prot;
	int variant;
	int g;			/* segment */
	int full;		/* read: check the whole segment */
	int ioc_fd;		/* IF_* */
	int fdsrc;		/* FS_* */
	int ptr;		/* PTR_* */
	int ng;			/* hammer: segments */
	uint32_t inst, ver;
	uint64_t a, b;		/* sizes / offsets */
	unsigned long req;
	struct mshare_create mc;
	struct mshare_unmap mu;
	struct mshare_protect mp;
	uint64_t seed;
	char name[32];
};

struct reply {
	long ret;
	int err;
	int sig;
	long v[6];
	char msg[200];
	struct msharefs_region_stat rs;
	struct msharefs_fs_stat fs;
};

/* Shared with every worker (allocated before the first one is forked). */
struct shared {
	_Atomic int stop;
	_Atomic uint64_t gstate[MAXS];	/* seq << 16 | pending << 9 | hole << 8 | prot */
};
#define GS_HOLE		(1u << 8)
#define GS_PENDING	(1u << 9)

static struct shared *sh;

/* ---------------------------------------------------------------- */
/* Worker                                                            */

static int wsock = -1;
static int wfd[NFD];
static char *waddr[NWIN];
static size_t wlen[NWIN];
static int wdir = -1, winfo = -1, wzero = -1;

static sigjmp_buf penv;
static volatile sig_atomic_t parmed;

static void phandler(int sig)
{
	if (parmed) {
		parmed = 0;
		siglongjmp(penv, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void worker_signals(void)
{
	struct sigaction sa = { .sa_handler = phandler };

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGCHLD, SIG_IGN);	/* fork children are reaped by the kernel */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, SIG_DFL);
}

static void w_rw(const struct cmd *c, struct reply *r, bool write)
{
	char *base = waddr[c->win] + (size_t)c->g * SEG;
	volatile long k = 0;
	int sig;

	r->ret = RS_OK;
	sig = sigsetjmp(penv, 0);
	if (sig) {
		r->ret = RS_SIG;
		r->sig = sig;
		r->v[0] = k;
		return;
	}
	parmed = 1;
	if (write) {
		for (k = 0; k < NSAMP; k++)
			*(volatile uint64_t *)(base + samp_off(c->g, (int)k)) =
				pword(c->inst, c->g, (int)k, c->ver);
	} else if (!c->full) {
		for (k = 0; k < NSAMP; k++) {
			size_t off = samp_off(c->g, (int)k);
			uint64_t w = *(volatile uint64_t *)(base + off);

			if (!word_ok(c->inst, c->g, (int)k, c->ver, w)) {
				parmed = 0;
				r->ret = RS_MISMATCH;
				r->v[0] = k;
				r->v[1] = (long)off;
				r->v[2] = (long)w;
				r->v[3] = c->ver == VER_ANY ? -1 :
					c->ver ? (long)pword(c->inst, c->g, (int)k, c->ver) : 0;
				return;
			}
		}
	} else {
		for (k = 0; k < (long)(SEG / 8); k++) {
			long p = k / 512, j = k % 512;
			int idx = j == 0 ? (int)(2 * p) :
				  j == 1 + (p * 37 + c->g * 11) % 511 ? (int)(2 * p + 1) : -1;
			uint64_t w = ((volatile uint64_t *)base)[k];
			bool ok = idx < 0 ? w == 0 : word_ok(c->inst, c->g, idx, c->ver, w);

			if (!ok) {
				parmed = 0;
				r->ret = RS_MISMATCH;
				r->v[0] = k;
				r->v[1] = k * 8;
				r->v[2] = (long)w;
				r->v[3] = idx < 0 || c->ver == 0 ? 0 : c->ver == VER_ANY ? -1 :
					(long)pword(c->inst, c->g, idx, c->ver);
				return;
			}
		}
	}
	parmed = 0;
}

/* One single-word access; 0 or the signal. */
static int hprobe(volatile uint64_t *p, bool write, uint64_t val, uint64_t *got)
{
	int sig = sigsetjmp(penv, 0);

	if (sig)
		return sig;
	parmed = 1;
	if (write)
		*p = val;
	else
		*got = *p;
	parmed = 0;
	return 0;
}

static void w_hammer(const struct cmd *c, struct reply *r)
{
	uint64_t rs = c->seed ? c->seed : 1;
	char *base = waddr[c->win];
	long end = now_ms() + (long)c->a;
	long reads = 0, writes = 0, segv = 0, stable = 0;

	while (!atomic_load(&sh->stop) && now_ms() < end) {
		for (int n = 0; n < 64; n++) {
			int g = (int)rng_below(&rs, (uint64_t)c->ng);
			int i = (int)rng_below(&rs, NSAMP);
			bool wr = (c->prot & P_W) && (rng_next(&rs) & 1);
			volatile uint64_t *p = (volatile uint64_t *)(base + (size_t)g * SEG + samp_off(g, i));
			uint32_t ver = (uint32_t)rng_below(&rs, 0xfffffffdu) + 1;
			uint64_t val = wr ? pword(c->inst, g, i, ver) : 0, got = 0, s1, s2;
			int sig;

			s1 = atomic_load(&sh->gstate[g]);
			atomic_thread_fence(memory_order_seq_cst);
			sig = hprobe(p, wr, val, &got);
			atomic_thread_fence(memory_order_seq_cst);
			s2 = atomic_load(&sh->gstate[g]);
			wr ? writes++ : reads++;
			if (sig)
				segv++;
			if (sig && sig != SIGSEGV) {
				snprintf(r->msg, sizeof(r->msg), "%s segment %d word %d: signal %d (%s)",
					 wr ? "write" : "read", g, i, sig, strsignal(sig));
				goto fail;
			}
			if (!sig && !wr && !(got == 0 || pvalid(c->inst, g, i, got))) {
				snprintf(r->msg, sizeof(r->msg),
					 "read segment %d word %d (offset %#zx): %#llx is neither 0 nor a word of region #%u segment %d",
					 g, i, (size_t)g * SEG + samp_off(g, i),
					 (unsigned long long)got, c->inst, g);
				goto fail;
			}
			if (s1 == s2 && !(s1 & GS_PENDING)) {
				bool hole = s1 & GS_HOLE;
				int eff = c->prot & (int)(s1 & 0xff);
				int want;	/* 1 must work, 0 must fault, -1 either */

				if (hole)
					want = 0;
				else if (wr)
					want = (eff & P_W) ? 1 : 0;
				else
					want = (s1 & P_ALL) ? 1 : 0;
				stable++;
				if ((want == 1 && sig) || (want == 0 && !sig)) {
					snprintf(r->msg, sizeof(r->msg),
						 "%s segment %d word %d: %s, but no ioctl in flight and the range is %s prot %#x (window prot %#x)",
						 wr ? "write" : "read", g, i,
						 sig ? "SIGSEGV" : "no fault", hole ? "a hole," : "mapped,",
						 (unsigned int)(s1 & 0xff), c->prot);
					goto fail;
				}
			}
		}
	}
	r->ret = 0;
	goto out;
fail:
	r->ret = 1;
out:
	r->v[0] = reads;
	r->v[1] = writes;
	r->v[2] = segv;
	r->v[3] = stable;
}

static void w_ioctl(const struct cmd *c, struct reply *r)
{
	union {
		struct mshare_create mc;
		struct mshare_unmap mu;
		struct mshare_protect mp;
		struct msharefs_region_stat rs;
		struct msharefs_fs_stat fs;
	} u;
	int fd = c->ioc_fd == IF_DIR ? wdir : c->ioc_fd == IF_INFO ? winfo : wfd[c->slot];
	void *arg = &u;
	unsigned long req = c->req;

	memset(&u, 0, sizeof(u));
	if (req == MSHAREFS_CREATE_MAPPING) {
		u.mc = c->mc;
		switch (c->fdsrc) {
		case FS_ANON: u.mc.fd = (__u32)-1; break;
		case FS_SELF: u.mc.fd = (__u32)wfd[c->slot]; break;
		case FS_INFO: u.mc.fd = (__u32)winfo; break;
		case FS_DIR: u.mc.fd = (__u32)wdir; break;
		case FS_ZERO: u.mc.fd = (__u32)wzero; break;
		case FS_CLOSED: close(CLOSED_FD); u.mc.fd = CLOSED_FD; break;
		default: break;	/* FS_LITERAL */
		}
	} else if (req == MSHAREFS_UNMAP) {
		u.mu = c->mu;
	} else if (req == MSHAREFS_PROTECT) {
		u.mp = c->mp;
	}
	if (c->ptr == PTR_NULL) {
		arg = NULL;
	} else if (c->ptr == PTR_BAD) {
		void *p = mmap(NULL, PS, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		munmap(p, PS);
		arg = p;
	}
	errno = 0;
	r->ret = ioctl(fd, req, arg);
	r->err = errno;
	if (r->ret == 0 && arg == &u) {
		if (_IOC_NR(req) == _IOC_NR(MSHAREFS_GET_REGION_STAT) && req == MSHAREFS_GET_REGION_STAT)
			r->rs = u.rs;
		else if (req == MSHAREFS_GET_FS_STAT)
			r->fs = u.fs;
	}
}

static void w_do(const struct cmd *c, int passed, struct reply *r, bool *noreply)
{
	switch (c->op) {
	case W_OPEN:
		errno = 0;
		r->ret = open(mpath(c->name), c->flags | O_CLOEXEC, 0600);
		r->err = errno;
		if (r->ret >= 0)
			wfd[c->slot] = (int)r->ret;
		break;
	case W_CLOSE:
		errno = 0;
		r->ret = close(wfd[c->slot]);
		r->err = errno;
		wfd[c->slot] = -1;
		break;
	case W_FTRUNC:
		errno = 0;
		r->ret = ftruncate(wfd[c->slot], (off_t)c->a);
		r->err = errno;
		break;
	case W_FALLOC:
		errno = 0;
		r->ret = fallocate(wfd[c->slot], 0, (off_t)c->b, (off_t)c->a);
		r->err = errno;
		break;
	case W_MMAP: {
		char *want = NULL, *res = NULL, *p;
		int flags = c->flags;

		if (c->variant != MV_ANY) {
			res = reserve_aligned_or_null(c->a + GRANULE);
			if (!res) {
				r->ret = -1;
				r->err = errno;
				snprintf(r->msg, sizeof(r->msg), "reserve: %s", strerror(errno));
				break;
			}
			want = res + (c->variant == MV_FIXED_UNALIGNED ? PS : 0);
			flags |= MAP_FIXED;
		}
		errno = 0;
		p = mmap(want, c->a, c->prot, flags, wfd[c->slot], (off_t)c->b);
		r->err = errno;
		r->ret = p == MAP_FAILED ? -1 : 0;
		r->v[0] = (long)p;
		if (p != MAP_FAILED) {
			waddr[c->win] = p;
			wlen[c->win] = c->a;
			if (res && p != want)
				snprintf(r->msg, sizeof(r->msg), "MAP_FIXED at %p returned %p",
					 (void *)want, (void *)p);
			if (res) {	/* the rest of the reservation */
				if (p > res)
					munmap(res, (size_t)(p - res));
				if (p + c->a < res + c->a + GRANULE)
					munmap(p + c->a, (size_t)(res + c->a + GRANULE - (p + c->a)));
			}
			if (((uintptr_t)p & (GRANULE - 1)) && !r->msg[0])
				snprintf(r->msg, sizeof(r->msg), "window at %p is not aligned", (void *)p);
		} else if (res) {
			munmap(res, c->a + GRANULE);
		}
		break;
	}
	case W_MUNMAP:
		errno = 0;
		r->ret = munmap(waddr[c->win], wlen[c->win]);
		r->err = errno;
		if (r->ret == 0) {
			r->v[0] = maps_overlaps(waddr[c->win], wlen[c->win]);
			waddr[c->win] = NULL;
			wlen[c->win] = 0;
		}
		break;
	case W_WINBAD:
		errno = 0;
		if (c->variant == WB_PARTIAL_MUNMAP)
			r->ret = munmap(waddr[c->win] + c->b, c->a);
		else
			r->ret = mprotect(waddr[c->win], wlen[c->win], PROT_NONE);
		r->err = errno;
		r->v[0] = maps_has(waddr[c->win], wlen[c->win]);
		break;
	case W_IOCTL:
		w_ioctl(c, r);
		break;
	case W_READ:
		w_rw(c, r, false);
		break;
	case W_WRITE:
		w_rw(c, r, true);
		break;
	case W_FORK: {
		pid_t pid = fork();

		if (pid == 0) {
			close(wsock);
			wsock = passed;
			*noreply = true;
			return;
		}
		close(passed);
		r->err = errno;
		r->ret = pid;
		break;
	}
	case W_EXIT:
		break;
	case W_HAMMER:
		w_hammer(c, r);
		break;
	case W_UNLINK:
		errno = 0;
		r->ret = unlink(mpath(c->name));
		r->err = errno;
		break;
	}
}

static ssize_t recv_cmd(int sock, struct cmd *c, int *passed)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = c, .iov_len = sizeof(*c) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	ssize_t n;

	*passed = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(passed, CMSG_DATA(cm), sizeof(int));
	}
	return n;
}

static void __attribute__((noreturn)) worker_main(int sock)
{
	wsock = sock;
	for (int i = 0; i < NFD; i++)
		wfd[i] = -1;
	worker_signals();
	alarm(0);
	wdir = open(MNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	winfo = open(MNT "/" MSHAREFS_INFO_NAME, O_RDONLY | O_CLOEXEC);
	wzero = open("/dev/zero", O_RDWR | O_CLOEXEC);
	if (wdir < 0 || winfo < 0 || wzero < 0) {
		perror("live-stress-random: worker setup");
		_exit(97);
	}
	for (;;) {
		struct cmd c;
		struct reply r;
		bool noreply = false;
		int passed;
		ssize_t n = recv_cmd(wsock, &c, &passed);

		if (n <= 0)
			_exit(0);	/* the coordinator is gone */
		memset(&r, 0, sizeof(r));
		w_do(&c, passed, &r, &noreply);
		if (noreply)
			continue;
		if (send(wsock, &r, sizeof(r), MSG_NOSIGNAL) != (ssize_t)sizeof(r))
			_exit(0);
		if (c.op == W_EXIT)
			_exit(0);
	}
}

/* ---------------------------------------------------------------- */
/* Model                                                             */

struct gran {
	bool hole;
	uint8_t prot;
	bool sure, maybe;	/* memory surely / maybe allocated */
	uint32_t ver;		/* 0 zero, VER_ANY any valid word, else exact */
};

struct inst {
	bool used;
	uint32_t id;
	int name;		/* the name it was created under */
	bool linked;
	int ng;			/* 0: size not set */
	struct gran g[MAXS];	/* per segment */
};

struct mfd {
	int inst;		/* -1: free */
	bool rw;
};

struct mwin {
	int inst;		/* -1: free */
	int prot;
};

struct worker {
	bool used;
	int num;
	pid_t pid;
	int sock;
	struct mfd fd[NFD];
	struct mwin win[NWIN];
};

static struct inst insts[MAXINST];
static int names[NNAMES];
static struct worker workers[MAXW];
static uint32_t next_inst_id = 1, next_ver = 1;
static int next_worker_num;

/* ---------------------------------------------------------------- */
/* Coordinator                                                       */

enum kind {
	K_OPEN_CREATE, K_OPEN_EEXIST, K_OPEN_EXISTING, K_OPEN_ENOENT, K_OPEN_TRUNC,
	K_CLOSE, K_FTRUNC, K_FTRUNC_BAD, K_FALLOC, K_MMAP, K_MMAP_FIXED, K_MMAP_BAD,
	K_MUNMAP, K_WINBAD, K_READ, K_READ_FULL, K_WRITE, K_SEGV,
	K_CREATE, K_UNMAP, K_PROTECT, K_IOCTL_BAD, K_RSTAT, K_FSTAT,
	K_FORK, K_KILL, K_EXIT, K_RESPAWN, K_UNLINK, K_PHASE, K_PHASE_IOCTL,
	K_CHECK, NKINDS,
};

static const char *const kind_name[NKINDS] = {
	[K_OPEN_CREATE] = "open-create", [K_OPEN_EEXIST] = "open-EEXIST",
	[K_OPEN_EXISTING] = "open-existing", [K_OPEN_ENOENT] = "open-ENOENT",
	[K_OPEN_TRUNC] = "open-O_TRUNC", [K_CLOSE] = "close", [K_FTRUNC] = "ftruncate",
	[K_FTRUNC_BAD] = "ftruncate-bad", [K_FALLOC] = "fallocate", [K_MMAP] = "mmap",
	[K_MMAP_FIXED] = "mmap-fixed", [K_MMAP_BAD] = "mmap-bad", [K_MUNMAP] = "munmap",
	[K_WINBAD] = "partial-munmap/mprotect", [K_READ] = "read", [K_READ_FULL] = "read-full",
	[K_WRITE] = "write", [K_SEGV] = "(expected SIGSEGV)", [K_CREATE] = "CREATE_MAPPING",
	[K_UNMAP] = "UNMAP", [K_PROTECT] = "PROTECT", [K_IOCTL_BAD] = "ioctl-bad",
	[K_RSTAT] = "REGION_STAT", [K_FSTAT] = "FS_STAT", [K_FORK] = "fork",
	[K_KILL] = "kill-9", [K_EXIT] = "exit", [K_RESPAWN] = "respawn", [K_UNLINK] = "unlink",
	[K_PHASE] = "concurrent-phase", [K_PHASE_IOCTL] = "phase-ioctl", [K_CHECK] = "books",
};

static long counts[NKINDS];
static uint64_t rs;		/* the PRNG */
static uint64_t seed;
static long step;
static long failures;
static bool verbose;
static bool skip_ioctls;
static bool no_phases;
static int cdir = -1;		/* coordinator's fd of the mount root */
static long base_used;
static struct msharefs_fs_stat base_fs;
static long retries, hammer_reads, hammer_writes, hammer_segv, hammer_stable;

#define HIST 40
static char hist[HIST][512];
static char cur[320];

static uint64_t rnd(uint64_t n)
{
	return rng_below(&rs, n);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(cur, sizeof(cur), "step %ld: ", step);

	va_start(ap, fmt);
	vsnprintf(cur + n, sizeof(cur) - (size_t)n, fmt, ap);
	va_end(ap);
}

static void done_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void done_note(const char *fmt, ...)
{
	char res[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res, sizeof(res), fmt, ap);
	va_end(ap);
	snprintf(hist[step % HIST], sizeof(hist[0]), "%.319s -> %.159s", cur, res);
	if (verbose)
		fprintf(stderr, "%s\n", hist[step % HIST]);
}

static void ffail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void ffail(const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!failures) {
		fprintf(stderr, "%s: the operations before the failure:\n", live_name);
		for (long s = step - HIST + 1; s < step; s++)
			if (s >= 0 && hist[s % HIST][0])
				fprintf(stderr, "  %s\n", hist[s % HIST]);
	}
	failures++;
	fprintf(stderr, "%s: FAIL (seed %llu, step %ld): %s: %s\n", live_name,
		(unsigned long long)seed, step, cur, msg);
	klog_mark("live-stress-random: FAIL seed %llu step %ld", (unsigned long long)seed, step);
}

static const char *prot_str(int prot)
{
	static char b[8][8];
	static int n;
	char *s = b[n++ & 7];

	snprintf(s, 8, "%s%s%s%s", prot & P_R ? "r" : "", prot & P_W ? "w" : "",
		 prot & P_X ? "x" : "", prot & P_ALL ? "" : "none");
	if (prot & ~P_ALL)
		snprintf(s, 8, "%#x", prot);
	return s;
}

/* ---- model helpers ---- */

static int live_insts(void)
{
	int n = 0;

	for (int i = 0; i < MAXINST; i++)
		n += insts[i].used;
	return n;
}

static int new_inst(int name)
{
	for (int i = 0; i < MAXINST; i++) {
		if (!insts[i].used) {
			memset(&insts[i], 0, sizeof(insts[i]));
			insts[i].used = true;
			insts[i].id = next_inst_id++;
			insts[i].name = name;
			insts[i].linked = true;
			names[name] = i;
			return i;
		}
	}
	return -1;
}

static void gc(void)
{
	for (int i = 0; i < MAXINST; i++) {
		bool ref = insts[i].linked;

		if (!insts[i].used || ref)
			continue;
		for (int w = 0; w < MAXW && !ref; w++) {
			if (!workers[w].used)
				continue;
			for (int s = 0; s < NFD; s++)
				ref |= workers[w].fd[s].inst == i;
			for (int s = 0; s < NWIN; s++)
				ref |= workers[w].win[s].inst == i;
		}
		if (!ref)
			insts[i].used = false;
	}
}

static int inst_windows(int i, int *attachers)
{
	int n = 0, a = 0;

	for (int w = 0; w < MAXW; w++) {
		int mine = 0;

		if (!workers[w].used)
			continue;
		for (int s = 0; s < NWIN; s++)
			mine += workers[w].win[s].inst == i;
		n += mine;
		a += mine > 0;
	}
	if (attachers)
		*attachers = a;
	return n;
}

static void inst_resident(int i, long *lo, long *hi)
{
	*lo = *hi = 0;
	for (int g = 0; g < insts[i].ng * SPG; g++) {
		*lo += insts[i].g[g].sure ? SPAGES : 0;
		*hi += insts[i].g[g].maybe ? SPAGES : 0;
	}
}

static int nworkers(void)
{
	int n = 0;

	for (int w = 0; w < MAXW; w++)
		n += workers[w].used;
	return n;
}

/* ---- talking to workers ---- */

static void close_inherited(int keep)
{
	for (int fd = 3; fd < 1024; fd++)
		if (fd != keep)
			close(fd);
}

static int free_worker(void)
{
	for (int w = 0; w < MAXW; w++)
		if (!workers[w].used)
			return w;
	return -1;
}

static void worker_init(struct worker *wk, pid_t pid, int sock)
{
	memset(wk, 0, sizeof(*wk));
	wk->used = true;
	wk->num = next_worker_num++;
	wk->pid = pid;
	wk->sock = sock;
	for (int s = 0; s < NFD; s++)
		wk->fd[s].inst = -1;
	for (int s = 0; s < NWIN; s++)
		wk->win[s].inst = -1;
}

static int spawn_worker(void)
{
	int w = free_worker(), sv[2];
	pid_t pid;

	if (w < 0)
		return -1;
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close_inherited(sv[1]);
		worker_main(sv[1]);
	}
	close(sv[1]);
	worker_init(&workers[w], pid, sv[0]);
	return w;
}

static void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* Wait until pid is gone (reaped by us or by its parent). */
static bool wait_gone(pid_t pid)
{
	long end = now_ms() + wait_ms(failures ? 5000 : 30000);

	for (;;) {
		reap();
		if (kill(pid, 0) && errno == ESRCH)
			return true;
		if (now_ms() > end)
			return false;
		usleep(1000);
	}
}

static void drop_worker(int w)
{
	close(workers[w].sock);
	workers[w].used = false;
	gc();
}

/* Worker died or hung: fail, kill it, forget it. */
static void lost_worker(int w, const char *why)
{
	ffail("worker %d (pid %d): %s", workers[w].num, (int)workers[w].pid, why);
	kill(workers[w].pid, SIGKILL);
	wait_gone(workers[w].pid);
	drop_worker(w);
}

static bool wsend(int w, const struct cmd *c, int passfd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)c, .iov_len = sizeof(*c) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (passfd >= 0) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &passfd, sizeof(int));
	}
	if (sendmsg(workers[w].sock, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(*c)) {
		lost_worker(w, "cannot send a command (worker dead?)");
		return false;
	}
	return true;
}

static bool wrecv(int w, struct reply *r)
{
	struct pollfd p = { .fd = workers[w].sock, .events = POLLIN };
	ssize_t n;

	/* after a failure (maybe a dead kernel task), do not wait long */
	if (poll(&p, 1, (int)wait_ms(failures ? 5000 : REPLY_MS)) != 1) {
		lost_worker(w, failures ? "no reply in 5 s" : "no reply in 60 s");
		return false;
	}
	n = recv(workers[w].sock, r, sizeof(*r), 0);
	if (n != (ssize_t)sizeof(*r)) {
		lost_worker(w, n == 0 ? "died (EOF on its socket)" : "short reply");
		return false;
	}
	return true;
}

static bool wcall(int w, const struct cmd *c, struct reply *r)
{
	memset(r, 0, sizeof(*r));
	return wsend(w, c, -1) && wrecv(w, r);
}

/* ---- judging ---- */

/*
 * ret/err against the expectation: ok_allowed, or one of the errnos in
 * errs (0-terminated).  Returns true if the call succeeded (and that was
 * allowed).
 */
static bool judge(const struct reply *r, bool ok_allowed, const int *errs)
{
	bool ok = r->ret >= 0;

	if (ok) {
		done_note("ok%s%s", r->msg[0] ? ": " : "", r->msg);
		if (!ok_allowed)
			ffail("succeeded, expected %s", live_errname(errs[0]));
		else if (r->msg[0])
			ffail("%s", r->msg);
		return ok_allowed;
	}
	done_note("%s", live_errname(r->err));
	for (const int *e = errs; e && *e; e++)
		if (*e == r->err)
			return false;
	if (ok_allowed)
		ffail("failed with %s, expected success", live_errname(r->err));
	else
		ffail("failed with %s, expected %s%s%s", live_errname(r->err),
		      live_errname(errs[0]), errs[1] ? " or " : "",
		      errs[1] ? live_errname(errs[1]) : "");
	return false;
}

/* errno lists for judge() (static: they outlive the block that picks them) */
static const int e_einval[] = { EINVAL, 0 }, e_eexist[] = { EEXIST, 0 },
	e_enoent[] = { ENOENT, 0 }, e_ebadf[] = { EBADF, 0 }, e_efault[] = { EFAULT, 0 },
	e_enotty[] = { ENOTTY, 0 }, e_enomem[] = { ENOMEM, 0 },
	e_eopnotsupp[] = { EOPNOTSUPP, 0 }, e_eacces[] = { EACCES, 0 },
	e_ebadf_einval[] = { EBADF, EINVAL, 0 }, e_einval_eacces[] = { EINVAL, EACCES, 0 };
#define NOERR ((const int *)NULL)

/* ---- picking ---- */

/* A random worker w (and slot) satisfying pred; -1 if none. */
typedef bool (*wpred)(int w, int s);

static int pick(wpred pred, int nslots, int *slot)
{
	int cand[MAXW * NWIN * 2][2], n = 0;

	for (int w = 0; w < MAXW; w++) {
		if (!workers[w].used)
			continue;
		for (int s = 0; s < nslots; s++)
			if (pred(w, s)) {
				cand[n][0] = w;
				cand[n][1] = s;
				n++;
			}
	}
	if (!n)
		return -1;
	n = (int)rnd((uint64_t)n);
	if (slot)
		*slot = cand[n][1];
	return cand[n][0];
}

static bool p_freefd(int w, int s) { return workers[w].fd[s].inst < 0; }
static bool p_fd(int w, int s) { return workers[w].fd[s].inst >= 0; }
static bool p_rwfd(int w, int s) { return workers[w].fd[s].inst >= 0 && workers[w].fd[s].rw; }
static bool p_rwfd_sized(int w, int s)
{
	return p_rwfd(w, s) && insts[workers[w].fd[s].inst].ng > 0;
}
static bool p_rofd_sized(int w, int s)
{
	return workers[w].fd[s].inst >= 0 && !workers[w].fd[s].rw &&
	       insts[workers[w].fd[s].inst].ng > 0;
}
static bool p_rwfd_unsized(int w, int s)
{
	return p_rwfd(w, s) && insts[workers[w].fd[s].inst].ng == 0;
}
static bool p_win(int w, int s) { return workers[w].win[s].inst >= 0; }
static bool p_any(int w, int s) { (void)w; (void)s; return true; }

static int free_win(int w)
{
	for (int s = 0; s < NWIN; s++)
		if (workers[w].win[s].inst < 0)
			return s;
	return -1;
}

static int free_fd(int w)
{
	for (int s = 0; s < NFD; s++)
		if (workers[w].fd[s].inst < 0)
			return s;
	return -1;
}

static const int range_prots[] = {
	P_R | P_W, P_R | P_W, P_R | P_W, P_R | P_W, P_R | P_W, P_ALL, P_ALL, P_R, P_R,
	P_R | P_X, 0, P_W, P_X, P_W | P_X,
};

static int rand_range_prot(void)
{
	return range_prots[rnd(sizeof(range_prots) / sizeof(range_prots[0]))];
}

static const int win_prots[] = { P_R | P_W, P_R | P_W, P_R, P_R | P_X, P_ALL };

#define WNAME(w) workers[w].num, (int)workers[w].pid

/* ---------------------------------------------------------------- */
/* Operations (each returns false if it did not apply)               */

static bool op_open(void)
{
	int s, w = pick(p_freefd, NFD, &s);
	int name = (int)rnd(NNAMES), i = names[name], v = (int)rnd(100), flags, kind;
	bool rw = rnd(10) < 7, creates = false;
	const int *errs = NOERR;
	struct cmd c = { .op = W_OPEN, .slot = s };
	struct reply r;

	if (w < 0)
		return false;
	flags = rw ? O_RDWR : O_RDONLY;
	if (v < 35) {
		flags |= O_CREAT | O_EXCL;
		kind = i >= 0 ? K_OPEN_EEXIST : K_OPEN_CREATE;
		if (i >= 0)
			errs = e_eexist;
		else
			creates = true;
	} else if (v < 55) {
		flags |= O_CREAT;
		kind = i >= 0 ? K_OPEN_EXISTING : K_OPEN_CREATE;
		creates = i < 0;
	} else if (v < 90) {
		kind = i >= 0 ? K_OPEN_EXISTING : K_OPEN_ENOENT;
		if (i < 0)
			errs = e_enoent;
	} else {
		if (i < 0 || insts[i].ng == 0)
			return false;
		flags = O_RDWR | O_TRUNC;
		rw = true;
		kind = K_OPEN_TRUNC;
		errs = e_einval;
	}
	if (creates && live_insts() >= MAXINST)
		return false;
	snprintf(c.name, sizeof(c.name), "r%d", name);
	c.flags = flags;
	note("w%d[%d] open r%d %s%s%s%s -> slot %d", WNAME(w), name, rw ? "O_RDWR" : "O_RDONLY",
	     flags & O_CREAT ? "|O_CREAT" : "", flags & O_EXCL ? "|O_EXCL" : "",
	     flags & O_TRUNC ? "|O_TRUNC" : "", s);
	counts[kind]++;
	if (!wcall(w, &c, &r))
		return true;
	if (judge(&r, errs == NOERR, errs)) {
		if (creates)
			i = new_inst(name);
		workers[w].fd[s].inst = i;
		workers[w].fd[s].rw = rw;
	} else if (r.ret >= 0) {
		/* unexpected success: keep the worker's fd table in sync */
		struct cmd cc = { .op = W_CLOSE, .slot = s };

		wcall(w, &cc, &r);
	}
	return true;
}

static bool op_close(void)
{
	int s, w = pick(p_fd, NFD, &s);
	struct cmd c = { .op = W_CLOSE, .slot = s };
	struct reply r;

	if (w < 0)
		return false;
	note("w%d[%d] close slot %d (region #%u)", WNAME(w), s, insts[workers[w].fd[s].inst].id);
	counts[K_CLOSE]++;
	if (!wcall(w, &c, &r))
		return true;
	judge(&r, true, NOERR);
	workers[w].fd[s].inst = -1;
	gc();
	return true;
}

static void set_size(int i, int ng)
{
	insts[i].ng = ng;
	for (int g = 0; g < ng * SPG; g++)
		insts[i].g[g] = (struct gran){ .prot = P_ALL };
}

static bool op_ftruncate(void)
{
	static const int sizes[] = { 1, 1, 2, 3, 4, 4, 6, 8 };
	int s, w = pick(p_fd, NFD, &s), i, ng = sizes[rnd(8)], v = (int)rnd(100);
	bool falloc = rnd(5) == 0;
	struct cmd c = { .op = falloc ? W_FALLOC : W_FTRUNC, .slot = s };
	struct reply r;
	bool valid = true;

	if (w < 0)
		return false;
	i = workers[w].fd[s].inst;
	c.a = (uint64_t)ng * GRANULE;
	if (v < 25) {		/* a size the module refuses */
		static const int64_t bad[] = { 0, PS, GRANULE + PS, GRANULE / 2, -(int64_t)GRANULE };

		c.a = (uint64_t)bad[rnd(5)];
		valid = false;
	}
	if (falloc && valid && rnd(4) == 0) {
		c.b = GRANULE;	/* offset not 0 */
		valid = false;
	}
	note("w%d[%d] %s slot %d (region #%u, %s fd, size %s) to %lld%s", WNAME(w),
	     falloc ? "fallocate" : "ftruncate", s, insts[i].id,
	     workers[w].fd[s].rw ? "rw" : "ro",
	     insts[i].ng ? "set" : "unset", (long long)c.a, c.b ? " at offset 2 MiB" : "");
	counts[!valid ? K_FTRUNC_BAD : falloc ? K_FALLOC : K_FTRUNC]++;
	if (!wcall(w, &c, &r))
		return true;
	if (!workers[w].fd[s].rw) {
		/* ftruncate: EINVAL; fallocate: EBADF (size errors may come first) */
		judge(&r, false, falloc ? e_ebadf_einval : e_einval);
	} else if (!valid || insts[i].ng) {
		judge(&r, false, e_einval);
	} else if (judge(&r, true, NOERR)) {
		set_size(i, ng);
	}
	return true;
}

static bool op_mmap(void)
{
	int s, w = pick(p_fd, NFD, &s), ws, i, prot = win_prots[rnd(5)], v = (int)rnd(100);
	int kind = K_MMAP;
	bool rw, bad = false;
	struct cmd c = { .op = W_MMAP, .slot = s, .flags = MAP_SHARED, .variant = MV_ANY };
	struct reply r;
	const char *what = "";

	if (w < 0 || (ws = free_win(w)) < 0)
		return false;
	i = workers[w].fd[s].inst;
	rw = workers[w].fd[s].rw;
	c.win = ws;
	c.prot = prot;
	c.a = insts[i].ng ? (uint64_t)insts[i].ng * GRANULE : GRANULE;
	if (v < 25) {
		c.variant = MV_FIXED;
		kind = K_MMAP_FIXED;
		what = " MAP_FIXED at an aligned reservation";
	} else if (v < 31) {
		c.variant = MV_FIXED_UNALIGNED;
		bad = true;
		what = " MAP_FIXED at an unaligned address";
	} else if (v < 36) {
		c.a += insts[i].ng > 1 && rnd(2) ? -GRANULE : rnd(2) ? GRANULE : PS;
		bad = true;
		what = " wrong length";
	} else if (v < 40) {
		c.b = rnd(2) ? GRANULE : PS;
		bad = true;
		what = " offset not 0";
	} else if (v < 44) {
		c.flags = MAP_PRIVATE;
		bad = true;
		what = " MAP_PRIVATE";
	}
	if (bad)
		kind = K_MMAP_BAD;
	note("w%d[%d] mmap slot %d (region #%u, %s fd, %d granules) %s len %#llx off %#llx%s -> window %d",
	     WNAME(w), s, insts[i].id, rw ? "rw" : "ro", insts[i].ng, prot_str(prot),
	     (unsigned long long)c.a, (unsigned long long)c.b, what, ws);
	counts[kind]++;
	if (!wcall(w, &c, &r))
		return true;
	if (bad || insts[i].ng == 0) {
		judge(&r, false, (prot & P_W) && !rw ? e_einval_eacces : e_einval);
	} else if ((prot & P_W) && !rw) {
		judge(&r, false, e_eacces);
	} else if (judge(&r, true, NOERR)) {
		workers[w].win[ws] = (struct mwin){ .inst = i, .prot = prot };
		return true;
	}
	if (r.ret >= 0) {	/* unexpected success: drop it again */
		struct cmd cc = { .op = W_MUNMAP, .win = ws };

		wcall(w, &cc, &r);
	}
	return true;
}

static bool op_munmap(void)
{
	int s, w = pick(p_win, NWIN, &s);
	struct cmd c = { .op = W_MUNMAP, .win = s };
	struct reply r;

	if (w < 0)
		return false;
	note("w%d[%d] munmap window %d (region #%u)", WNAME(w), s,
	     insts[workers[w].win[s].inst].id);
	counts[K_MUNMAP]++;
	if (!wcall(w, &c, &r))
		return true;
	if (judge(&r, true, NOERR) && r.v[0])
		ffail("the window is still in /proc/self/maps after munmap");
	workers[w].win[s].inst = -1;
	gc();
	return true;
}

static bool op_winbad(void)
{
	int s, w = pick(p_win, NWIN, &s), i, g;
	struct cmd c = { .op = W_WINBAD, .win = s };
	struct reply r;

	if (w < 0)
		return false;
	i = workers[w].win[s].inst;
	c.variant = rnd(3) ? WB_PARTIAL_MUNMAP : WB_MPROTECT;
	g = (int)rnd((uint64_t)insts[i].ng);
	if (insts[i].ng > 1) {
		c.b = (uint64_t)g * GRANULE;
		c.a = GRANULE;
	} else {
		c.b = rnd(GPAGES) * PS;
		c.a = PS;
	}
	if (c.variant == WB_PARTIAL_MUNMAP)
		note("w%d[%d] munmap part [%#llx, +%#llx) of window %d (region #%u, %d granules)",
		     WNAME(w), (unsigned long long)c.b, (unsigned long long)c.a, s,
		     insts[i].id, insts[i].ng);
	else
		note("w%d[%d] mprotect window %d (region #%u) to none", WNAME(w), s, insts[i].id);
	counts[K_WINBAD]++;
	if (!wcall(w, &c, &r))
		return true;
	judge(&r, false, e_einval);
	if (!r.v[0])
		ffail("the window is no longer whole in /proc/self/maps");
	return true;
}

/* Read or write one segment through window s of worker w; judged. */
static void do_access(int w, int s, int g, bool write, bool full)
{
	int i = workers[w].win[s].inst, wprot = workers[w].win[s].prot;
	struct gran *gr = &insts[i].g[g];
	int eff = wprot & gr->prot;
	int want;		/* 1 works, 0 SIGSEGV, -1 either */
	struct cmd c = { .op = write ? W_WRITE : W_READ, .win = s, .g = g, .full = full,
			 .inst = insts[i].id };
	struct reply r;

	if (gr->hole)
		want = 0;
	else if (write)
		want = (eff & P_W) ? 1 : 0;
	else
		want = (gr->prot & P_ALL) ? 1 : 0;
	if (write)
		c.ver = next_ver++;
	else
		c.ver = gr->ver;
	note("w%d[%d] %s%s segment %d of window %d (%s) of region #%u (%s, range %s, %s)%s",
	     WNAME(w), write ? "write" : "read", full ? " (whole)" : "", g, s,
	     prot_str(wprot), insts[i].id, gr->hole ? "hole" : "mapped", prot_str(gr->prot),
	     gr->ver == VER_ANY ? "any valid words" : gr->ver ? "pattern" : "zero",
	     want == 1 ? "" : want == 0 ? ": expect SIGSEGV" : ": SIGSEGV allowed");
	counts[write ? K_WRITE : full ? K_READ_FULL : K_READ]++;
	if (!want)
		counts[K_SEGV]++;
	if (!wcall(w, &c, &r))
		return;
	if (r.ret == RS_OK) {
		done_note("ok");
		if (!want)
			ffail("the access worked, expected SIGSEGV");
	} else if (r.ret == RS_SIG) {
		done_note("signal %d at word %ld", r.sig, r.v[0]);
		if (r.sig != SIGSEGV)
			ffail("signal %d (%s) at word %ld, expected %s", r.sig, strsignal(r.sig),
			      r.v[0], want ? "none" : "SIGSEGV");
		else if (r.v[0])
			ffail("SIGSEGV at word %ld of the segment, after the first worked", r.v[0]);
		else if (want == 1)
			ffail("SIGSEGV, expected the access to work");
	} else {
		done_note("mismatch");
		ffail("word %ld (offset %#lx in the segment) is %#lx, expected %s%#lx",
		      r.v[0], r.v[1], r.v[2], r.v[3] == -1 ? "0 or any valid word, not " : "",
		      r.v[3] == -1 ? r.v[2] : r.v[3]);
	}
	/*
	 * A fault builds the granule's region table: every page of it that
	 * is not a hole may be allocated now.
	 */
	for (int t = g - g % SPG; t < g - g % SPG + SPG; t++)
		if (!insts[i].g[t].hole)
			insts[i].g[t].maybe = true;
	if (!gr->hole && r.ret == RS_OK) {
		gr->sure = true;
		if (write)
			gr->ver = c.ver;
	}
}

static bool op_access(bool write)
{
	int s, w = pick(p_win, NWIN, &s), i;

	if (w < 0)
		return false;
	i = workers[w].win[s].inst;
	do_access(w, s, (int)rnd((uint64_t)insts[i].ng * SPG), write, !write && rnd(12) == 0);
	return true;
}

/* ---- the ioctls ---- */

/*
 * A range of segments of a region of ng granules: parts of granules and
 * ranges across their boundaries, whole granules, the whole region.
 */
static void rand_range(int ng, uint64_t *off, uint64_t *size)
{
	int ns = ng * SPG, o = (int)rnd((uint64_t)ns), n = 1 + (int)rnd((uint64_t)(ns - o));

	if (rnd(4) == 0) {	/* whole granules */
		o -= o % SPG;
		n = SPG * (1 + (int)rnd((uint64_t)(ng - o / SPG)));
	} else if (rnd(4) == 0) {	/* whole region */
		o = 0;
		n = ns;
	}
	*off = (uint64_t)o * SEG;
	*size = (uint64_t)n * SEG;
}

static const char *req_name(unsigned long req)
{
	return req == MSHAREFS_CREATE_MAPPING ? "CREATE_MAPPING" :
	       req == MSHAREFS_UNMAP ? "UNMAP" : req == MSHAREFS_PROTECT ? "PROTECT" :
	       req == MSHAREFS_GET_REGION_STAT ? "GET_REGION_STAT" :
	       req == MSHAREFS_GET_FS_STAT ? "GET_FS_STAT" : "unknown request";
}

/* Fill c for a valid call of req on [off, off + size). */
static void ioc_fill(struct cmd *c, unsigned long req, uint64_t off, uint64_t size, int prot)
{
	c->op = W_IOCTL;
	c->req = req;
	c->ioc_fd = IF_REGION;
	c->ptr = PTR_OK;
	c->fdsrc = FS_ANON;
	c->prot = prot;
	c->mc = (struct mshare_create){ .region_offset = off, .size = size, .offset = 0,
		.prot = (__u32)prot, .flags = MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS,
		.fd = (__u32)-1 };
	c->mu = (struct mshare_unmap){ .region_offset = off, .size = size };
	c->mp = (struct mshare_protect){ .region_offset = off, .size = size,
		.prot = (__u32)prot, .flags = 0 };
}

/* The model after a successful req on [off, off+size) of instance i. */
static void ioc_apply(int i, unsigned long req, uint64_t off, uint64_t size, int prot)
{
	for (uint64_t g = off / SEG; g < (off + size) / SEG; g++) {
		struct gran *gr = &insts[i].g[g];

		if (req == MSHAREFS_CREATE_MAPPING)
			*gr = (struct gran){ .prot = (uint8_t)prot };
		else if (req == MSHAREFS_UNMAP)
			*gr = (struct gran){ .hole = true };
		else
			gr->prot = (uint8_t)prot;
	}
}

static bool range_has_hole(int i, uint64_t off, uint64_t size)
{
	for (uint64_t g = off / SEG; g < (off + size) / SEG; g++)
		if (insts[i].g[g].hole)
			return true;
	return false;
}

static unsigned long rand_req(void)
{
	uint64_t v = rnd(10);

	return v < 4 ? MSHAREFS_CREATE_MAPPING : v < 6 ? MSHAREFS_UNMAP : MSHAREFS_PROTECT;
}

/* A valid ioctl (CREATE_MAPPING, UNMAP, PROTECT) on a sized region. */
static bool op_ioctl(void)
{
	int s, w = pick(p_rwfd_sized, NFD, &s), i, prot = rand_range_prot();
	unsigned long req = rand_req();
	uint64_t off, size;
	struct cmd c;
	struct reply r;
	bool hole;

	if (w < 0 || skip_ioctls)
		return false;
	i = workers[w].fd[s].inst;
	rand_range(insts[i].ng, &off, &size);
	memset(&c, 0, sizeof(c));
	c.slot = s;
	ioc_fill(&c, req, off, size, prot);
	hole = range_has_hole(i, off, size);
	note("w%d[%d] %s slot %d (region #%u, %d granules) [%llu, +%llu) segments%s%s%s",
	     WNAME(w), req_name(req), s, insts[i].id, insts[i].ng,
	     (unsigned long long)(off / SEG), (unsigned long long)(size / SEG),
	     req == MSHAREFS_UNMAP ? "" : " prot ", req == MSHAREFS_UNMAP ? "" : prot_str(prot),
	     req == MSHAREFS_PROTECT && hole ? " (has a hole: ENOMEM)" : "");
	counts[req == MSHAREFS_CREATE_MAPPING ? K_CREATE : req == MSHAREFS_UNMAP ? K_UNMAP : K_PROTECT]++;
	if (!wcall(w, &c, &r))
		return true;
	if (req == MSHAREFS_PROTECT && hole)
		judge(&r, false, e_enomem);
	else if (judge(&r, true, NOERR))
		ioc_apply(i, req, off, size, prot);
	return true;
}

/* One defect at a time; nothing may change. */
static bool op_ioctl_bad(void)
{
	int s = 0, w, i, d = (int)rnd(22), prot = rand_range_prot();
	unsigned long req = rand_req();
	const int *errs = e_einval;
	const char *what;
	uint64_t off, size;
	struct cmd c;
	struct reply r;

	if (skip_ioctls)
		return false;
	if (d == 0)
		w = pick(p_rofd_sized, NFD, &s);
	else if (d == 1)
		w = pick(p_rwfd_unsized, NFD, &s);
	else
		w = pick(p_rwfd_sized, NFD, &s);
	if (w < 0)
		return false;
	i = workers[w].fd[s].inst;
	if (insts[i].ng)
		rand_range(insts[i].ng, &off, &size);
	else
		off = 0, size = GRANULE;
	memset(&c, 0, sizeof(c));
	c.slot = s;
	switch (d) {
	case 0: what = "read-only fd"; errs = e_ebadf; break;
	case 1: what = "region size not set"; break;
	case 2: what = "offset not page-aligned"; off += 1 + rnd(PS - 1); break;
	case 3: what = "size not page-aligned"; size += 1 + rnd(PS - 1); break;
	case 4: what = "size 0"; size = 0; break;
	case 5: what = "beyond the end"; off = (uint64_t)insts[i].ng * GRANULE - GRANULE; size = 2 * GRANULE; break;
	case 6: what = "offset + size overflows"; off = ~(uint64_t)(GRANULE - 1); size = 2 * GRANULE; break;
	case 7: what = "offset past the end"; off = (uint64_t)insts[i].ng * GRANULE; size = GRANULE; break;
	case 8: what = "bad pointer (NULL)"; errs = e_efault; break;
	case 9: what = "bad pointer (unmapped)"; errs = e_efault; break;
	case 10: what = "directory fd"; errs = e_enotty; break;
	case 11: what = "mshare_info fd"; errs = e_enotty; break;
	case 12: what = "unknown request"; errs = e_enotty; break;
	case 13: req = rnd(2) ? MSHAREFS_CREATE_MAPPING : MSHAREFS_PROTECT;
		what = "unknown prot bit"; prot = P_R | (rnd(2) ? 0x8 : PROT_GROWSDOWN); break;
	case 14: req = MSHAREFS_PROTECT; what = "flags not 0"; break;
	default: req = MSHAREFS_CREATE_MAPPING; what = ""; break;
	}
	ioc_fill(&c, req, off, size, prot);
	switch (d) {
	case 8: c.ptr = PTR_NULL; break;
	case 9: c.ptr = PTR_BAD; break;
	case 10: c.ioc_fd = IF_DIR; break;
	case 11: c.ioc_fd = IF_INFO; break;
	case 12: c.req = rnd(2) ? _IOW('x', 9, struct mshare_unmap) :
		 rnd(2) ? _IO('x', 1) : _IOR('x', 1, struct mshare_unmap); break;
	case 14: c.mp.flags = 1u << rnd(32); break;
	case 15: what = "flags without MAP_FIXED"; c.mc.flags = MAP_SHARED | MAP_ANONYMOUS; break;
	case 16: what = "flags MAP_PRIVATE"; c.mc.flags = MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS; break;
	case 17: what = "flags + MAP_POPULATE";
		c.mc.flags = MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS | (rnd(2) ? MAP_POPULATE : MAP_LOCKED);
		break;
	case 18:
		if (rnd(2)) {
			what = "MAP_ANONYMOUS with an fd";
			c.fdsrc = FS_LITERAL;
			c.mc.fd = 3;
		} else {
			what = "MAP_ANONYMOUS with an offset";
			c.mc.offset = GRANULE;
		}
		break;
	case 19:
		what = "file-backed, fd not open";
		c.mc.flags = MAP_SHARED | MAP_FIXED;
		c.fdsrc = FS_CLOSED;
		errs = e_ebadf;
		break;
	case 20: {
		static const int src[] = { FS_SELF, FS_INFO, FS_DIR };
		static const char *const sname[] = { "the region itself", "mshare_info", "the mount root" };
		int k = (int)rnd(3);

		c.mc.flags = MAP_SHARED | MAP_FIXED;
		c.fdsrc = src[k];
		what = sname[k];
		break;
	}
	case 21:
		what = "file-backed (/dev/zero)";
		c.mc.flags = MAP_SHARED | MAP_FIXED;
		c.fdsrc = FS_ZERO;
		errs = e_eopnotsupp;
		break;
	default:
		break;
	}
	note("w%d[%d] %s slot %d (region #%u, %s fd, %d granules) off %#llx size %#llx: %s%s",
	     WNAME(w), req_name(c.req), s, insts[i].id, workers[w].fd[s].rw ? "rw" : "ro",
	     insts[i].ng, (unsigned long long)off, (unsigned long long)size,
	     d == 20 ? "file-backed from " : "", what);
	counts[K_IOCTL_BAD]++;
	if (!wcall(w, &c, &r))
		return true;
	judge(&r, false, errs);
	return true;
}

/* ---- statistics ---- */

static bool check_rstat(int i, const struct msharefs_region_stat *st, char *why, size_t len)
{
	int att, win = inst_windows(i, &att);
	long lo, hi;

	inst_resident(i, &lo, &hi);
	if (st->version < 1 || st->size != sizeof(*st))
		snprintf(why, len, "version %u size %u", st->version, st->size);
	else if (st->region_size != (uint64_t)insts[i].ng * GRANULE)
		snprintf(why, len, "region_size %llu, model %llu",
			 (unsigned long long)st->region_size,
			 (unsigned long long)insts[i].ng * GRANULE);
	else if (st->granule != GRANULE || st->page_size != PS)
		snprintf(why, len, "granule %llu page_size %llu",
			 (unsigned long long)st->granule, (unsigned long long)st->page_size);
	else if (!S_ISREG(st->mode) || st->uid != 0)
		snprintf(why, len, "mode %#o uid %u", st->mode, st->uid);
	else if (st->windows != (uint64_t)win || st->attachers != (uint64_t)att)
		snprintf(why, len, "windows %llu attachers %llu, model %d and %d",
			 (unsigned long long)st->windows, (unsigned long long)st->attachers, win, att);
	else if ((long)st->resident_pages < lo || (long)st->resident_pages > hi)
		snprintf(why, len, "resident_pages %llu, model %ld..%ld",
			 (unsigned long long)st->resident_pages, lo, hi);
	else
		return true;
	return false;
}

static bool check_fstat(const struct msharefs_fs_stat *st, char *why, size_t len)
{
	long lo = 0, hi = 0, win = 0, att = 0;
	int regions = live_insts();

	for (int i = 0; i < MAXINST; i++) {
		long l, h;
		int a;

		if (!insts[i].used)
			continue;
		inst_resident(i, &l, &h);
		lo += l;
		hi += h;
		win += inst_windows(i, &a);
		att += a;
	}
	if (st->version < 1 || st->size != sizeof(*st) || st->granule != GRANULE ||
	    st->page_size != PS)
		snprintf(why, len, "version %u size %u granule %llu page_size %llu", st->version,
			 st->size, (unsigned long long)st->granule, (unsigned long long)st->page_size);
	else if (st->regions != base_fs.regions + (uint64_t)regions)
		snprintf(why, len, "regions %llu, model %llu", (unsigned long long)st->regions,
			 (unsigned long long)(base_fs.regions + (uint64_t)regions));
	else if (st->windows != (uint64_t)win || st->attachers != (uint64_t)att)
		snprintf(why, len, "windows %llu attachers %llu, model %ld and %ld",
			 (unsigned long long)st->windows, (unsigned long long)st->attachers, win, att);
	else if ((long)st->resident_pages < lo || (long)st->resident_pages > hi)
		snprintf(why, len, "resident_pages %llu, model %ld..%ld",
			 (unsigned long long)st->resident_pages, lo, hi);
	else
		return true;
	return false;
}

/* The mount's used pages and FS_STAT from the coordinator, against the model. */
static void books(const char *when)
{
	struct msharefs_fs_stat st;
	char why[200] = "";
	long lo = 0, hi = 0, used = 0;

	note("books (%s)", when);
	counts[K_CHECK]++;
	for (int i = 0; i < MAXINST; i++) {
		long l, h;

		if (insts[i].used) {
			inst_resident(i, &l, &h);
			lo += l;
			hi += h;
		}
	}
	for (int t = 0; t < 40; t++) {
		if (t) {
			retries++;
			usleep(25000);
		}
		used = used_pages(MNT) - base_used;
		if (used < lo || used > hi) {
			snprintf(why, sizeof(why), "the mount's used pages %+ld over the baseline, model %ld..%ld",
				 used, lo, hi);
			continue;
		}
		memset(&st, 0, sizeof(st));
		if (ioctl(cdir, MSHAREFS_GET_FS_STAT, &st)) {
			snprintf(why, sizeof(why), "GET_FS_STAT on the root: %s", live_errname(errno));
			continue;
		}
		if (check_fstat(&st, why, sizeof(why))) {
			done_note("ok (used %ld)", used);
			return;
		}
	}
	done_note("wrong");
	ffail("%s", why);
}

static bool op_stat(void)
{
	int s, w = pick(p_any, NFD, &s), v = (int)rnd(10), i;
	struct cmd c;
	struct reply r;
	char why[200] = "";
	bool region = v < 6;

	if (w < 0)
		return false;
	i = workers[w].fd[s].inst;
	memset(&c, 0, sizeof(c));
	c.op = W_IOCTL;
	c.slot = s;
	c.req = region ? MSHAREFS_GET_REGION_STAT : MSHAREFS_GET_FS_STAT;
	c.ioc_fd = i < 0 || v == 9 ? (rnd(2) ? IF_DIR : IF_INFO) : IF_REGION;
	if (v == 8 && c.ioc_fd == IF_REGION)
		c.ptr = rnd(2) ? PTR_NULL : PTR_BAD;
	note("w%d[%d] %s on %s%s", WNAME(w), req_name(c.req),
	     c.ioc_fd == IF_DIR ? "the root" : c.ioc_fd == IF_INFO ? "mshare_info" : "a region fd",
	     c.ptr ? " with a bad pointer" : "");
	if (c.ioc_fd == IF_REGION)
		snprintf(cur + strlen(cur), sizeof(cur) - strlen(cur), " (slot %d, region #%u, %s)",
			 s, insts[i].id, workers[w].fd[s].rw ? "rw" : "ro");
	counts[region ? K_RSTAT : K_FSTAT]++;
	for (int t = 0; t < 40; t++) {
		if (t) {
			retries++;
			usleep(25000);
		}
		if (!wcall(w, &c, &r))
			return true;
		if (c.ptr) {
			judge(&r, false, e_efault);
			return true;
		}
		if (region && c.ioc_fd != IF_REGION) {
			judge(&r, false, e_enotty);
			return true;
		}
		if (r.ret < 0) {
			judge(&r, true, NOERR);
			return true;
		}
		if (region ? check_rstat(i, &r.rs, why, sizeof(why)) : check_fstat(&r.fs, why, sizeof(why))) {
			done_note("ok%s", t ? " (after retries)" : "");
			return true;
		}
	}
	done_note("wrong");
	ffail("%s", why);
	return true;
}

/* ---- processes ---- */

static bool op_fork(void)
{
	int w = pick(p_any, 1, NULL), nw = free_worker(), sv[2];
	struct cmd c = { .op = W_FORK };
	struct reply r;

	if (w < 0 || nw < 0)
		return false;
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	note("w%d[%d] fork -> w%d", WNAME(w), next_worker_num);
	counts[K_FORK]++;
	memset(&r, 0, sizeof(r));
	if (!wsend(w, &c, sv[1]) || !wrecv(w, &r)) {
		close(sv[0]);
		close(sv[1]);
		return true;
	}
	close(sv[1]);
	if (!judge(&r, true, NOERR)) {
		close(sv[0]);
		return true;
	}
	worker_init(&workers[nw], (pid_t)r.ret, sv[0]);
	memcpy(workers[nw].fd, workers[w].fd, sizeof(workers[w].fd));
	memcpy(workers[nw].win, workers[w].win, sizeof(workers[w].win));
	return true;
}

static void kill_worker(int w)
{
	pid_t pid = workers[w].pid;

	kill(pid, SIGKILL);
	if (!wait_gone(pid))
		ffail("pid %d still there long after SIGKILL", (int)pid);
	drop_worker(w);
}

static bool op_kill(void)
{
	int w = pick(p_any, 1, NULL);

	if (w < 0 || nworkers() < 2)
		return false;
	note("kill -9 w%d[%d]", WNAME(w));
	counts[K_KILL]++;
	kill_worker(w);
	done_note("gone");
	return true;
}

static void exit_worker(int w)
{
	struct cmd c = { .op = W_EXIT };
	struct reply r;
	pid_t pid = workers[w].pid;

	if (!wcall(w, &c, &r))
		return;
	if (!wait_gone(pid))
		ffail("pid %d still there long after its exit", (int)pid);
	drop_worker(w);
}

static bool op_exit(void)
{
	int w = pick(p_any, 1, NULL);

	if (w < 0 || nworkers() < 2)
		return false;
	note("w%d[%d] exit", WNAME(w));
	counts[K_EXIT]++;
	exit_worker(w);
	done_note("gone");
	return true;
}

static bool op_unlink(void)
{
	int w = pick(p_any, 1, NULL), name = (int)rnd(NNAMES), i = names[name];
	struct cmd c = { .op = W_UNLINK };
	struct reply r;

	if (w < 0)
		return false;
	snprintf(c.name, sizeof(c.name), "r%d", name);
	note("w%d[%d] unlink r%d (%s)", WNAME(w), name, i >= 0 ? "exists" : "missing");
	counts[K_UNLINK]++;
	if (!wcall(w, &c, &r))
		return true;
	if (judge(&r, i >= 0, e_enoent)) {
		insts[i].linked = false;
		names[name] = -1;
		gc();
	}
	return true;
}

/* ---- the concurrent phase ---- */

static uint64_t gseq;

static void publish(int i, int g, bool pending)
{
	const struct gran *gr = &insts[i].g[g];

	gseq++;
	atomic_store(&sh->gstate[g], gseq << 16 | (pending ? GS_PENDING : 0) |
		     (gr->hole ? GS_HOLE : 0) | gr->prot);
}

static bool op_phase(void)
{
	int cand[MAXINST], nc = 0, i, h[MAXHAMMER], hw[MAXHAMMER], nh = 0, d = -1, ds = -1;
	int nd = 0, dc[MAXW];
	int nioc;

	if (skip_ioctls || no_phases)
		return false;
	for (int k = 0; k < MAXINST; k++)
		if (insts[k].used && insts[k].ng && inst_windows(k, NULL))
			cand[nc++] = k;
	if (!nc)
		return false;
	i = cand[rnd((uint64_t)nc)];
	/* hammers: workers with a window on i */
	for (int w = 0; w < MAXW; w++) {
		if (!workers[w].used)
			continue;
		for (int s = 0; s < NWIN; s++) {
			if (workers[w].win[s].inst == i) {
				if (nh < MAXHAMMER && rnd(4)) {
					h[nh] = w;
					hw[nh++] = s;
				}
				break;
			}
		}
	}
	if (!nh)
		return false;
	/* the driver: another worker with a writable fd on i, or one that can open it */
	for (int w = 0; w < MAXW; w++) {
		bool in = false;

		if (!workers[w].used)
			continue;
		for (int k = 0; k < nh; k++)
			in |= h[k] == w;
		if (!in)
			dc[nd++] = w;
	}
	if (!nd)
		return false;
	d = dc[rnd((uint64_t)nd)];
	for (int s = 0; s < NFD; s++)
		if (workers[d].fd[s].inst == i && workers[d].fd[s].rw)
			ds = s;
	if (ds < 0) {
		struct cmd c = { .op = W_OPEN, .flags = O_RDWR };
		struct reply r;

		if (!insts[i].linked || (ds = free_fd(d)) < 0)
			return false;
		c.slot = ds;
		snprintf(c.name, sizeof(c.name), "r%d", insts[i].name);
		note("w%d[%d] open r%d O_RDWR -> slot %d (driver of a concurrent phase)",
		     WNAME(d), insts[i].name, ds);
		counts[K_OPEN_EXISTING]++;
		if (!wcall(d, &c, &r) || !judge(&r, true, NOERR))
			return true;
		workers[d].fd[ds] = (struct mfd){ .inst = i, .rw = true };
		step++;
	}

	note("concurrent phase on region #%u (%d granules): driver w%d[%d], %d hammer(s)",
	     insts[i].id, insts[i].ng, WNAME(d), nh);
	done_note("start");
	/* in the kernel log, so that an oops can be placed: pids of the phase */
	klog_mark("seed %llu step %ld: concurrent phase %ld on region #%u (%d granules): "
		  "driver pid %d, hammer pids %d %d %d", (unsigned long long)seed, step,
		  counts[K_PHASE] + 1, insts[i].id, insts[i].ng, (int)workers[d].pid,
		  (int)workers[h[0]].pid, nh > 1 ? (int)workers[h[1]].pid : 0,
		  nh > 2 ? (int)workers[h[2]].pid : 0);
	counts[K_PHASE]++;
	for (int g = 0; g < insts[i].ng * SPG; g++)
		publish(i, g, false);
	atomic_store(&sh->stop, 0);
	for (int k = 0; k < nh; k++) {
		struct cmd c = { .op = W_HAMMER, .win = hw[k], .ng = insts[i].ng * SPG,
				 .prot = workers[h[k]].win[hw[k]].prot, .inst = insts[i].id,
				 .a = 60000, .seed = rng_next(&rs) | 1 };

		if (!wsend(h[k], &c, -1))
			h[k] = -1;
	}
	nioc = 4 + (int)rnd(12);
	for (int n = 0; n < nioc && !failures; n++) {
		unsigned long req = rnd(7) == 0 ? MSHAREFS_CREATE_MAPPING : rand_req();
		int prot = rnd(5) == 0 ? P_R | P_W : rand_range_prot();
		uint64_t off, size;
		struct cmd c;
		struct reply r;
		bool hole;

		usleep((useconds_t)rnd(30000));
		step++;
		rand_range(insts[i].ng, &off, &size);
		memset(&c, 0, sizeof(c));
		c.slot = ds;
		ioc_fill(&c, req, off, size, prot);
		hole = range_has_hole(i, off, size);
		note("phase: w%d[%d] %s [%llu, +%llu) segments of region #%u%s%s%s", WNAME(d),
		     req_name(req), (unsigned long long)(off / SEG),
		     (unsigned long long)(size / SEG), insts[i].id,
		     req == MSHAREFS_UNMAP ? "" : " prot ", req == MSHAREFS_UNMAP ? "" : prot_str(prot),
		     req == MSHAREFS_PROTECT && hole ? " (has a hole: ENOMEM)" : "");
		counts[K_PHASE_IOCTL]++;
		for (uint64_t g = off / SEG; g < (off + size) / SEG; g++)
			publish(i, (int)g, true);
		if (!wcall(d, &c, &r))
			break;
		if (req == MSHAREFS_PROTECT && hole)
			judge(&r, false, e_enomem);
		else if (judge(&r, true, NOERR))
			ioc_apply(i, req, off, size, prot);
		for (uint64_t g = off / SEG; g < (off + size) / SEG; g++)
			publish(i, (int)g, false);
	}
	usleep((useconds_t)rnd(30000));
	atomic_store(&sh->stop, 1);
	step++;
	for (int k = 0; k < nh; k++) {
		struct reply r;

		if (h[k] < 0 || !workers[h[k]].used)
			continue;
		note("phase: hammer w%d[%d] (window %s) on region #%u", WNAME(h[k]),
		     prot_str(workers[h[k]].win[hw[k]].prot), insts[i].id);
		memset(&r, 0, sizeof(r));
		if (!wrecv(h[k], &r))
			continue;
		done_note("%ld reads, %ld writes, %ld SIGSEGV, %ld checked against a stable state%s%s",
			  r.v[0], r.v[1], r.v[2], r.v[3], r.ret ? ": " : "", r.ret ? r.msg : "");
		hammer_reads += r.v[0];
		hammer_writes += r.v[1];
		hammer_segv += r.v[2];
		hammer_stable += r.v[3];
		if (r.ret)
			ffail("%s", r.msg);
	}
	/* contents are now "any valid word"; memory maybe allocated */
	for (int g = 0; g < insts[i].ng * SPG; g++) {
		struct gran *gr = &insts[i].g[g];

		if (!gr->hole) {
			gr->ver = VER_ANY;
			gr->maybe = true;
		}
	}
	return true;
}

/* ---------------------------------------------------------------- */

struct weighted {
	bool (*fn)(void);
	int weight;
};

static bool op_read(void) { return op_access(false); }
static bool op_write(void) { return op_access(true); }

static const struct weighted ops[] = {
	{ op_open, 90 }, { op_close, 35 }, { op_ftruncate, 55 }, { op_mmap, 90 },
	{ op_munmap, 45 }, { op_winbad, 12 }, { op_read, 200 }, { op_write, 150 },
	{ op_ioctl, 140 }, { op_ioctl_bad, 45 }, { op_stat, 35 }, { op_fork, 12 },
	{ op_kill, 8 }, { op_exit, 5 }, { op_unlink, 28 }, { op_phase, 10 },
};

static void teardown(void)
{
	/* half exit, half SIGKILL */
	for (int w = 0; w < MAXW; w++) {
		if (!workers[w].used)
			continue;
		step++;
		if (rnd(2) || failures) {
			note("teardown: kill -9 w%d[%d]", WNAME(w));
			kill_worker(w);
		} else {
			note("teardown: w%d[%d] exit", WNAME(w));
			exit_worker(w);
		}
		done_note("gone");
	}
	reap();
	for (int n = 0; n < NNAMES; n++) {
		char name[8];

		snprintf(name, sizeof(name), "r%d", n);
		step++;
		note("teardown: unlink %s (%s)", name, names[n] >= 0 ? "exists" : "missing");
		errno = 0;
		if (unlink(mpath(name)) == 0) {
			done_note("ok");
			if (names[n] < 0) {
				ffail("unlink worked, the model has no such name");
			} else {
				insts[names[n]].linked = false;
				names[n] = -1;
			}
		} else {
			done_note("%s", live_errname(errno));
			if (names[n] >= 0 || errno != ENOENT)
				ffail("unlink: %s", live_errname(errno));
		}
	}
	gc();
	step++;
	note("teardown: model");
	if (live_insts())
		ffail("%d region instances left in the model after teardown", live_insts());
	books("end");
}

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : def;
}

int main(void)
{
	long secs, max_ops, t0, elapsed;
	long total = 0;
	int wsum = 0;
	const char *sv;

	live_init("live-stress-random");
	secs = env_long("MSHARE_STRESS_SECONDS", 60);
	max_ops = env_long("MSHARE_STRESS_OPS", 0);
	verbose = env_long("MSHARE_STRESS_VERBOSE", 0) != 0;
	skip_ioctls = env_long("MSHARE_STRESS_SKIP_IOCTLS", 0) != 0;
	no_phases = env_long("MSHARE_STRESS_PHASES", 1) == 0;
	sv = getenv("MSHARE_STRESS_SEED");
	seed = sv && *sv ? strtoull(sv, NULL, 0) : rng_seed(0x7a11d0);
	rs = seed ? seed : 1;
	/*
	 * The run, then up to ~2 minutes of teardown; under the harness,
	 * live_init()'s watchdog (its time limit less 20 s) is the bound.
	 */
	if (!getenv("MSHARE_TIMEOUT_S"))
		alarm((unsigned int)(secs + 150));
	printf("live-stress-random: seed %llu (MSHARE_STRESS_SEED=%llu to repeat), %ld s%s%s\n",
	       (unsigned long long)seed, (unsigned long long)seed, secs,
	       skip_ioctls ? ", WITHOUT the range ioctls (MSHARE_STRESS_SKIP_IOCTLS)" : "",
	       no_phases ? ", without concurrent phases (MSHARE_STRESS_PHASES=0)" : "");
	if (max_ops)
		printf("live-stress-random: MSHARE_STRESS_OPS=%ld\n", max_ops);
	fprintf(stderr, "live-stress-random: seed %llu\n", (unsigned long long)seed);
	klog_mark("seed %llu, %ld s", (unsigned long long)seed, secs);

	CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
	signal(SIGPIPE, SIG_IGN);
	sh = shared_alloc(sizeof(*sh));
	for (int n = 0; n < NNAMES; n++)
		names[n] = -1;
	cdir = open(MNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(cdir >= 0);
	base_used = used_pages(MNT);
	CHECKF(ioctl(cdir, MSHAREFS_GET_FS_STAT, &base_fs) == 0, "GET_FS_STAT on %s", MNT);
	CHECKF(base_fs.regions == 0 && base_fs.windows == 0,
	       "the mount has %llu regions and %llu windows at the start",
	       (unsigned long long)base_fs.regions, (unsigned long long)base_fs.windows);
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		wsum += ops[k].weight;

	t0 = now_ms();
	for (step = 0; !failures; step++) {
		elapsed = now_ms() - t0;
		if (elapsed >= secs * 1000 || (max_ops && total >= max_ops))
			break;
		while (nworkers() < MINW && !failures) {
			int w = spawn_worker();

			note("respawn -> w%d[%d]", WNAME(w));
			done_note("ok");
			counts[K_RESPAWN]++;
			step++;
		}
		hist[step % HIST][0] = 0;
		if (step % 64 == 63) {
			books("periodic");
			continue;
		}
		for (int tries = 0; tries < 50; tries++) {
			int x = (int)rnd((uint64_t)wsum);
			size_t k = 0;

			while (x >= ops[k].weight)
				x -= ops[k++].weight;
			if (ops[k].fn())
				break;
		}
		total++;
		if (total % 5000 == 0)
			klog_mark("seed %llu: %ld operations, %ld steps, %.1f s", (unsigned long long)seed,
				  total, step, (double)(now_ms() - t0) / 1000);
	}
	elapsed = now_ms() - t0;
	teardown();
	close(cdir);

	{
		char line[700];
		size_t n = 0;

		for (int k = 0; k < NKINDS && n < sizeof(line); k++)
			n += (size_t)snprintf(line + n, sizeof(line) - n,
					      "%s%s %ld", k ? ", " : "", kind_name[k], counts[k]);
		summary("live-stress-random: seed %llu, per kind: %s", (unsigned long long)seed, line);
	}
	summary("live-stress-random: seed %llu, %ld operations (%ld steps) in %.1f s (+%.1f s teardown), "
		"failures %ld; %d CPUs; concurrent phases %ld with %ld phase ioctls, hammer reads %ld "
		"writes %ld SIGSEGV %ld stable-checked %ld; region instances %u, versions %u, "
		"stat retries %ld",
		(unsigned long long)seed, total, step, (double)elapsed / 1000,
		(double)(now_ms() - t0 - elapsed) / 1000, failures, ncpus(), counts[K_PHASE],
		counts[K_PHASE_IOCTL], hammer_reads, hammer_writes, hammer_segv, hammer_stable,
		next_inst_id - 1, next_ver - 1, retries);
	CHECKF(failures == 0, "%ld failures (seed %llu, see above)", failures,
	       (unsigned long long)seed);
	live_done();
}
