// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-hostile: what a hostile or careless caller can throw at a region.
 *
 * 1. Every ioctl with bad argument pointers: NULL, unmapped, kernel and
 *    non-canonical addresses, a PROT_NONE page, a structure that crosses
 *    into an unmapped page: EFAULT.  A structure in a read-only page is
 *    fine for the _IOW requests (the kernel only reads it) and EFAULT for
 *    the _IOR statistics.  On an unsized, a sized and an attached region;
 *    a window's bytes survive all of it.
 * 2. Bad values: ranges that overflow (region_offset = 2^64 - granule,
 *    size = 2 granules), huge, zero, unaligned or outside the region;
 *    unknown flag and prot bits; MAP_ANONYMOUS with a source fd or offset;
 *    file-backed sources that are not open (EBADF), on msharefs (EINVAL),
 *    elsewhere (EOPNOTSUPP); PROTECT over a hole (ENOMEM, nothing
 *    changes); unknown requests and the wrong file kinds (ENOTTY); a
 *    descriptor not open for writing (EBADF, checked before the argument).
 * 3. ftruncate/fallocate with negative, huge, unaligned sizes and
 *    RLIMIT_FSIZE (EFBIG); mmap with absurd lengths, offsets, addresses and
 *    flags.
 * 4. Races: 4 threads for a few seconds on the same names and descriptors:
 *    create/ftruncate/close, mmap/touch/munmap, unlink/recreate/rename/
 *    close, and the ioctls.  Every call succeeds or fails with an errno the
 *    man page documents for it; a touch may raise SIGSEGV (a hole or a
 *    protection), never SIGBUS; the kernel log stays clean (the harness).
 * 5. Huge regions: the ioctls over the whole of a 4 TiB region take
 *    bounded time and kernel memory (they must not grow with the size of
 *    the range, or any user could exhaust the kernel's memory); a window of
 *    it works at its far end.
 */
#include "common.h"

#include <fcntl.h>
#include <linux/msharefs.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define G		GRANULE
#define NG		4
#define SZ		(NG * G)
#define RW		(PROT_READ | PROT_WRITE)
#define RWX		(PROT_READ | PROT_WRITE | PROT_EXEC)
#define ANON_FLAGS	(MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS)
#define SEED		0x686f73

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE	0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC		0x80000
#endif
#ifndef MAP_UNINITIALIZED
#define MAP_UNINITIALIZED	0x4000000
#endif

static long psz;

/* ---------------------------------------------------------------------- */
/* errno sets */

#define ERRS(...)	((const int[]){ __VA_ARGS__, -1 })

static bool err_in(int e, const int *set)
{
	for (; *set != -1; set++)
		if (*set == e)
			return true;
	return false;
}

static const char *set_str(const int *set)
{
	static char buf[128];
	size_t n = 0;

	buf[0] = 0;
	for (; *set != -1; set++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? "/" : "",
				      *set ? live_errname(*set) : "success");
	return buf;
}

/* r is the call's result (-1 = failed with errno e); 0 in want = success */
#define EXPECT_IN(r, e, want, ...) do {						\
	long _r = (long)(r);							\
	int _e = _r == -1 ? (e) : 0;						\
	live_checks++;								\
	if (!err_in(_e, want))							\
		live_fail(__FILE__, __LINE__, "EXPECT_IN", _e, __VA_ARGS__);	\
} while (0)

/* ---------------------------------------------------------------------- */
/* the five requests */

enum { K_CREATE, K_UNMAP, K_PROTECT, K_RSTAT, K_FSTAT, NK };

static const unsigned long kcmd[NK] = {
	MSHAREFS_CREATE_MAPPING, MSHAREFS_UNMAP, MSHAREFS_PROTECT,
	MSHAREFS_GET_REGION_STAT, MSHAREFS_GET_FS_STAT,
};
static const size_t ksize[NK] = {
	sizeof(struct mshare_create), sizeof(struct mshare_unmap),
	sizeof(struct mshare_protect), sizeof(struct msharefs_region_stat),
	sizeof(struct msharefs_fs_stat),
};
static const char *const kname[NK] = {
	"CREATE_MAPPING", "UNMAP", "PROTECT", "GET_REGION_STAT", "GET_FS_STAT",
};

static bool kwrites(int k)	/* the kernel writes the structure (_IOR) */
{
	return k == K_RSTAT || k == K_FSTAT;
}

static int io(int fd, unsigned long cmd, void *arg)
{
	errno = 0;
	return ioctl(fd, cmd, arg);
}

static struct mshare_create mk_create(__u64 off, __u64 size, __u32 prot)
{
	struct mshare_create mc = {
		.region_offset = off, .size = size, .offset = 0, .prot = prot,
		.flags = ANON_FLAGS, .fd = (__u32)-1,
	};

	return mc;
}

static int create_r(int fd, __u64 off, __u64 size, __u32 prot)
{
	struct mshare_create mc = mk_create(off, size, prot);

	return io(fd, MSHAREFS_CREATE_MAPPING, &mc);
}

static int unmap_r(int fd, __u64 off, __u64 size)
{
	struct mshare_unmap mu = { .region_offset = off, .size = size };

	return io(fd, MSHAREFS_UNMAP, &mu);
}

static int protect_r(int fd, __u64 off, __u64 size, __u32 prot, __u32 flags)
{
	struct mshare_protect mp = {
		.region_offset = off, .size = size, .prot = prot, .flags = flags,
	};

	return io(fd, MSHAREFS_PROTECT, &mp);
}

/* A valid argument for request k, written at p (a harmless PROTECT RWX). */
static void valid_arg(int k, void *p)
{
	switch (k) {
	case K_CREATE: {
		/* the last granule: the callers refill it */
		struct mshare_create mc = mk_create(SZ - G, G, RWX);

		memcpy(p, &mc, sizeof(mc));
		break;
	}
	case K_UNMAP: {
		struct mshare_unmap mu = { .region_offset = SZ - G, .size = G };

		memcpy(p, &mu, sizeof(mu));
		break;
	}
	case K_PROTECT: {
		struct mshare_protect mp = {
			.region_offset = 0, .size = SZ, .prot = RWX, .flags = 0,
		};

		memcpy(p, &mp, sizeof(mp));
		break;
	}
	default:
		memset(p, 0, ksize[k]);
	}
}

/* ---------------------------------------------------------------------- */
/* 1. bad pointers */

enum state { UNSIZED, SIZED, ATTACHED };
static const char *const state_name[] = { "unsized", "sized", "attached" };

/* Put the last granule back after a valid CREATE/UNMAP there. */
static void heal_last(int fd, char *w)
{
	CHECK(create_r(fd, SZ - G, G, RWX) == 0);
	if (w)
		fill_pattern(w + SZ - G, G, SEED + 1);
}

static void check_window(char *w, const char *when)
{
	if (!w)
		return;
	CHECKF(verify_pattern(w, SZ - G, SEED) == -1, "%s: window bytes changed", when);
	CHECKF(verify_pattern(w + SZ - G, G, SEED + 1) == -1,
	       "%s: window bytes of the last granule changed", when);
	CHECKF(probe_write(w + 8 * 3, (unsigned char)pattern_word(SEED, 3)) == 0,
	       "%s: window no longer writable", when);
	CHECKF(maps_has(w, SZ), "%s: window gone from /proc/self/maps", when);
}

static void bad_pointers(int fd, enum state s, char *w)
{
	char *pages, *ro, *edge_page, *hole, *none, *edge;
	void *ptrs[5];
	const char *pname[5] = {
		"NULL", "unmapped page", "kernel address", "non-canonical address",
		"PROT_NONE page",
	};

	/* [rw][ro][rw][hole][none][rw] */
	pages = mmap(NULL, 6 * psz, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(pages != MAP_FAILED);
	ro = pages + psz;
	edge_page = pages + 2 * psz;
	hole = pages + 3 * psz;
	none = pages + 4 * psz;
	CHECK(munmap(hole, psz) == 0);
	CHECK(mprotect(none, psz, PROT_NONE) == 0);

	ptrs[0] = NULL;
	ptrs[1] = hole;
	ptrs[2] = (void *)0xffffffff81000000UL;
	ptrs[3] = (void *)0x8000000000000000UL;
	ptrs[4] = none;

	for (int k = 0; k < NK; k++) {
		for (int i = 0; i < 5; i++) {
			int r = io(fd, kcmd[k], ptrs[i]);

			EXPECT_IN(r, errno, ERRS(EFAULT), "%s region: %s with %s: "
				  "got %d (%s), want EFAULT", state_name[s], kname[k],
				  pname[i], r, live_errname(errno));
		}
		/* a valid structure crossing from a mapped page into the hole */
		edge = hole - ksize[k] / 2;
		memset(edge_page, 0, (size_t)psz);
		valid_arg(k, edge_page);
		memcpy(edge, edge_page, ksize[k] / 2);
		EXPECT_IN(io(fd, kcmd[k], edge), errno, ERRS(EFAULT),
			  "%s region: %s with a structure crossing into an unmapped "
			  "page: errno %s", state_name[s], kname[k], live_errname(errno));

		/* a valid structure that ends exactly at the hole: fine */
		edge = hole - ksize[k];
		valid_arg(k, edge);
		{
			int r = io(fd, kcmd[k], edge);
			const int *want = s == UNSIZED && !kwrites(k) ? ERRS(EINVAL)
				: ERRS(0);

			EXPECT_IN(r, errno, want, "%s region: %s, structure at the end "
				  "of a page: %d (%s), want %s", state_name[s], kname[k],
				  r, live_errname(errno), set_str(want));
			if (r == 0 && (k == K_CREATE || k == K_UNMAP))
				heal_last(fd, w);
		}

		/* in a read-only page */
		CHECK(mprotect(ro, psz, RW) == 0);
		valid_arg(k, ro + psz - ksize[k]);
		CHECK(mprotect(ro, psz, PROT_READ) == 0);
		{
			int r = io(fd, kcmd[k], ro + psz - ksize[k]);
			const int *want = kwrites(k) ? ERRS(EFAULT)
				: s == UNSIZED ? ERRS(EINVAL) : ERRS(0);

			EXPECT_IN(r, errno, want, "%s region: %s, structure in a read-only "
				  "page: %d (%s), want %s", state_name[s], kname[k], r,
				  live_errname(errno), set_str(want));
			if (r == 0 && (k == K_CREATE || k == K_UNMAP))
				heal_last(fd, w);
		}
	}
	check_window(w, "after the bad pointers");
	CHECK(munmap(pages, 6 * psz) == 0);
}

/* ---------------------------------------------------------------------- */
/* 2. bad values */

struct vcase {
	const char *what;
	int k;
	__u64 off, size;
	__u32 prot, flags;	/* PROTECT: flags; CREATE: MAP_* */
	__u64 offset;		/* CREATE */
	__u32 sfd;		/* CREATE */
};

#define U64MAX	(~(__u64)0)

static const struct vcase range_cases[] = {
	{ "size 0", 0, 0, 0, 0, 0, 0, 0 },
	{ "size 0 at the end", 0, SZ, 0, 0, 0, 0, 0 },
	{ "past the end", 0, SZ, G, 0, 0, 0, 0 },
	{ "crossing the end", 0, SZ - G, 2 * G, 0, 0, 0, 0 },
	{ "one granule too many", 0, 0, SZ + G, 0, 0, 0, 0 },
	{ "offset + size overflows", 0, U64MAX - G + 1, 2 * G, 0, 0, 0, 0 },
	{ "offset + size wraps to 0", 0, G, U64MAX - G + 1, 0, 0, 0, 0 },
	{ "huge size", 0, 0, U64MAX - G + 1, 0, 0, 0, 0 },
	{ "size 2^63", 0, 0, 1ULL << 63, 0, 0, 0, 0 },
	{ "offset 2^63", 0, 1ULL << 63, G, 0, 0, 0, 0 },
	{ "size ~0", 0, 0, U64MAX, 0, 0, 0, 0 },
	{ "offset ~0", 0, U64MAX, G, 0, 0, 0, 0 },
	{ "offset half a page", 0, 2048, G, 0, 0, 0, 0 },
	{ "offset a page + 1", 0, 4097, 4096, 0, 0, 0, 0 },
	{ "offset 1", 0, 1, G, 0, 0, 0, 0 },
	{ "size half a page", 0, 0, 2048, 0, 0, 0, 0 },
	{ "size a page + 1", 0, 0, 4097, 0, 0, 0, 0 },
	{ "size a granule + 1", 0, G, G + 1, 0, 0, 0, 0 },
	{ "size 1", 0, 0, 1, 0, 0, 0, 0 },
	{ "size whole - 1", 0, 0, SZ - 1, 0, 0, 0, 0 },
};

static int do_case(int fd, int k, const struct vcase *c)
{
	switch (k) {
	case K_CREATE: {
		struct mshare_create mc = {
			.region_offset = c->off, .size = c->size, .offset = c->offset,
			.prot = c->prot, .flags = c->flags, .fd = c->sfd,
		};

		return io(fd, MSHAREFS_CREATE_MAPPING, &mc);
	}
	case K_UNMAP:
		return unmap_r(fd, c->off, c->size);
	default:
		return protect_r(fd, c->off, c->size, c->prot, c->flags);
	}
}

static void value_case(int fd, enum state s, int k, const struct vcase *c,
		       const int *want)
{
	int r = do_case(fd, k, c);

	EXPECT_IN(r, errno, want, "%s region: %s %s: %d (%s), want %s",
		  state_name[s], kname[k], c->what, r, live_errname(errno),
		  set_str(want));
}

static void bad_values(int fd, enum state s, char *w, int other_region)
{
	int tmpf, pfd[2], devzero, memfd, info, root, opath, closed;
	char tmpname[] = "/tmp/live-hostile.XXXXXX";

	/* ranges: EINVAL for all three */
	for (size_t i = 0; i < sizeof(range_cases) / sizeof(range_cases[0]); i++) {
		struct vcase c = range_cases[i];

		for (int k = K_CREATE; k <= K_PROTECT; k++) {
			c.prot = RWX;
			c.flags = k == K_CREATE ? ANON_FLAGS : 0;
			c.sfd = (__u32)-1;
			value_case(fd, s, k, &c, ERRS(EINVAL));
		}
	}

	/* CREATE_MAPPING flags, prot, anonymous fd and offset */
	{
		static const struct { const char *what; __u32 flags; } fl[] = {
			{ "flags 0", 0 },
			{ "no MAP_FIXED", MAP_SHARED | MAP_ANONYMOUS },
			{ "no MAP_SHARED", MAP_FIXED | MAP_ANONYMOUS },
			{ "MAP_PRIVATE", MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS },
			{ "MAP_SHARED_VALIDATE", MAP_SHARED_VALIDATE | MAP_FIXED | MAP_ANONYMOUS },
			{ "+MAP_POPULATE", ANON_FLAGS | MAP_POPULATE },
			{ "+MAP_HUGE_2MB without MAP_HUGETLB", ANON_FLAGS | (21U << 26) },
			{ "+MAP_HUGETLB|MAP_HUGE_1GB", ANON_FLAGS | MAP_HUGETLB | (30U << 26) },
			{ "+MAP_HUGETLB|MAP_HUGE_64KB", ANON_FLAGS | MAP_HUGETLB | (16U << 26) },
			{ "+MAP_LOCKED", ANON_FLAGS | MAP_LOCKED },
			{ "+MAP_NORESERVE", ANON_FLAGS | MAP_NORESERVE },
			{ "+MAP_GROWSDOWN", ANON_FLAGS | MAP_GROWSDOWN },
			{ "+MAP_FIXED_NOREPLACE", ANON_FLAGS | MAP_FIXED_NOREPLACE },
			{ "+MAP_SYNC", ANON_FLAGS | MAP_SYNC },
			{ "+MAP_UNINITIALIZED", ANON_FLAGS | MAP_UNINITIALIZED },
			{ "+bit 31", ANON_FLAGS | 0x80000000u },
			{ "all bits", 0xffffffffu },
		};
		static const struct { const char *what; __u32 prot; } pr[] = {
			{ "prot 0x8 (PROT_SEM)", RW | 0x8 },
			{ "prot 0x10", RW | 0x10 },
			{ "PROT_GROWSDOWN", RW | PROT_GROWSDOWN },
			{ "PROT_GROWSUP", RW | PROT_GROWSUP },
			{ "prot bit 31", 0x80000000u },
			{ "prot ~0", 0xffffffffu },
		};

		for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
			struct vcase c = { fl[i].what, 0, 0, G, RW, fl[i].flags, 0, (__u32)-1 };

			value_case(fd, s, K_CREATE, &c, ERRS(EINVAL));
		}
		for (size_t i = 0; i < sizeof(pr) / sizeof(pr[0]); i++) {
			struct vcase c = { pr[i].what, 0, 0, G, pr[i].prot, ANON_FLAGS, 0, (__u32)-1 };

			value_case(fd, s, K_CREATE, &c, ERRS(EINVAL));
			c.flags = 0;
			value_case(fd, s, K_PROTECT, &c, ERRS(EINVAL));
		}
		for (__u32 b = 0; b < 32; b++) {
			struct vcase c = { "PROTECT flags bit", 0, 0, G, RWX, 1u << b, 0, 0 };

			value_case(fd, s, K_PROTECT, &c, ERRS(EINVAL));
		}
		{
			struct vcase c[] = {
				{ "MAP_ANONYMOUS with fd 0", 0, 0, G, RW, ANON_FLAGS, 0, 0 },
				{ "MAP_ANONYMOUS with the region's fd", 0, 0, G, RW, ANON_FLAGS, 0, (__u32)fd },
				{ "MAP_ANONYMOUS with fd -2", 0, 0, G, RW, ANON_FLAGS, 0, (__u32)-2 },
				{ "MAP_ANONYMOUS with offset 4096", 0, 0, G, RW, ANON_FLAGS, 4096, (__u32)-1 },
				{ "MAP_ANONYMOUS with offset a granule", 0, 0, G, RW, ANON_FLAGS, G, (__u32)-1 },
				{ "MAP_ANONYMOUS with offset ~0", 0, 0, G, RW, ANON_FLAGS, U64MAX, (__u32)-1 },
			};

			for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
				value_case(fd, s, K_CREATE, &c[i], ERRS(EINVAL));
		}
	}

	/* file-backed sources */
	tmpf = mkstemp(tmpname);
	CHECK(tmpf >= 0);
	CHECK(ftruncate(tmpf, SZ) == 0);
	unlink(tmpname);
	CHECK(pipe(pfd) == 0);
	devzero = EXPECT_OK(open("/dev/zero", O_RDWR));
	memfd = EXPECT_OK(memfd_create("live-hostile", 0));
	CHECK(ftruncate(memfd, SZ) == 0);
	info = EXPECT_OK(open(MNT "/mshare_info", O_RDONLY));
	root = EXPECT_OK(open(MNT, O_RDONLY | O_DIRECTORY));
	opath = EXPECT_OK(open("/tmp", O_PATH));
	closed = EXPECT_OK(dup(0));
	close(closed);
	{
		const int *uns = s == UNSIZED ? ERRS(EINVAL) : NULL;
		struct { const char *what; int sfd; const int *want; } src[] = {
			{ "source fd not open", closed, ERRS(EBADF) },
			{ "source fd 2^31-1", 0x7fffffff, ERRS(EBADF) },
			{ "source fd -1 without MAP_ANONYMOUS", -1, ERRS(EBADF) },
			{ "source O_PATH fd", opath, ERRS(EBADF) },
			{ "source: the region itself", fd, ERRS(EINVAL) },
			{ "source: another region", other_region, ERRS(EINVAL) },
			{ "source: mshare_info", info, ERRS(EINVAL) },
			{ "source: the msharefs root", root, ERRS(EINVAL) },
			{ "source: a tmpfs file", tmpf, ERRS(EOPNOTSUPP) },
			{ "source: a memfd", memfd, ERRS(EOPNOTSUPP) },
			{ "source: a pipe", pfd[0], ERRS(EOPNOTSUPP) },
			{ "source: /dev/zero", devzero, ERRS(EOPNOTSUPP) },
		};

		for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
			struct vcase c = { src[i].what, 0, 0, G, RW, MAP_SHARED | MAP_FIXED,
					   0, (__u32)src[i].sfd };

			/* an unsized region: the range is checked first (EINVAL) */
			value_case(fd, s, K_CREATE, &c, uns ? uns : src[i].want);
			c.offset = G;
			value_case(fd, s, K_CREATE, &c, uns ? uns : src[i].want);
			/* a bad range is EINVAL whatever the source */
			c.off = SZ;
			value_case(fd, s, K_CREATE, &c, ERRS(EINVAL));
			c.off = 0;
			c.prot = 0x10;
			value_case(fd, s, K_CREATE, &c, ERRS(EINVAL));
		}
	}
	close(tmpf);
	close(pfd[0]);
	close(pfd[1]);
	close(devzero);
	close(memfd);
	close(info);
	close(root);
	close(opath);

	if (s == UNSIZED) {
		/* every valid-looking range: the size is not set */
		struct vcase c = { "valid range", 0, 0, G, RW, ANON_FLAGS, 0, (__u32)-1 };

		value_case(fd, s, K_CREATE, &c, ERRS(EINVAL));
		value_case(fd, s, K_UNMAP, &c, ERRS(EINVAL));
		c.flags = 0;
		value_case(fd, s, K_PROTECT, &c, ERRS(EINVAL));
		return;
	}

	/* PROTECT over a hole: ENOMEM and nothing changes */
	CHECK(unmap_r(fd, SZ - G, G) == 0);
	CHECK(unmap_r(fd, SZ - G, G) == 0);	/* a hole again: fine */
	EXPECT_ERRNO(protect_r(fd, 0, SZ, PROT_READ, 0), ENOMEM);
	EXPECT_ERRNO(protect_r(fd, SZ - G, G, RW, 0), ENOMEM);
	EXPECT_ERRNO(protect_r(fd, G, SZ - G, PROT_NONE, 0), ENOMEM);
	if (w) {
		CHECK(probe_read(w + SZ - G) == SIGSEGV);
		CHECK(probe_write(w + SZ - 1, 1) == SIGSEGV);
		/* the granules before the hole kept their protection and bytes */
		CHECK(verify_pattern(w, SZ - G, SEED) == -1);
		CHECK(probe_write(w + G + 8 * 5, (unsigned char)pattern_word(SEED, G / 8 + 5)) == 0);
	}
	heal_last(fd, w);
	check_window(w, "after the bad values");
}

/* ENOTTY: unknown requests, the wrong kinds of file; EBADF before EFAULT. */
static void wrong_requests(int fd, int rofd)
{
	static const struct { const char *what; unsigned long cmd; } unk[] = {
		{ "_IO('x', 0)", _IO('x', 0) },
		{ "_IOR('x', 0, struct mshare_create)", _IOR('x', 0, struct mshare_create) },
		{ "_IOWR('x', 0, struct mshare_create)", _IOWR('x', 0, struct mshare_create) },
		{ "_IOW('x', 0, int)", _IOW('x', 0, int) },
		{ "_IOW('x', 0, a larger struct)", _IOW('x', 0, struct msharefs_fs_stat) },
		{ "_IOW('x', 1, struct mshare_create)", _IOW('x', 1, struct mshare_create) },
		{ "_IOW('x', 2, struct mshare_unmap)", _IOW('x', 2, struct mshare_unmap) },
		{ "_IOW('x', 3, struct msharefs_region_stat)", _IOW('x', 3, struct msharefs_region_stat) },
		{ "_IOWR('x', 4, struct msharefs_fs_stat)", _IOWR('x', 4, struct msharefs_fs_stat) },
		{ "_IOW('x', 5, __u64)", _IOW('x', 5, __u64) },
		{ "_IOR('x', 5, __u64)", _IOR('x', 5, __u64) },
		{ "_IOW('x', 255, __u64)", _IOW('x', 255, __u64) },
		{ "_IOW('y', 0, struct mshare_create)", _IOW('y', 0, struct mshare_create) },
		{ "0", 0 },
		{ "~0", 0xffffffffUL },
	};
	char buf[4096] = { 0 };
	int dir, info;

	for (size_t i = 0; i < sizeof(unk) / sizeof(unk[0]); i++) {
		int r = io(fd, unk[i].cmd, buf);

		EXPECT_IN(r, errno, ERRS(ENOTTY), "request %s: %d (%s), want ENOTTY",
			  unk[i].what, r, live_errname(errno));
	}
	dir = EXPECT_OK(open(MNT, O_RDONLY | O_DIRECTORY));
	info = EXPECT_OK(open(MNT "/mshare_info", O_RDONLY));
	for (int k = K_CREATE; k <= K_RSTAT; k++) {
		valid_arg(k, buf);
		EXPECT_ERRNO(io(dir, kcmd[k], buf), ENOTTY);
		EXPECT_ERRNO(io(info, kcmd[k], buf), ENOTTY);
		/* the kind of file first: the pointer does not matter */
		EXPECT_ERRNO(io(dir, kcmd[k], NULL), ENOTTY);
		EXPECT_ERRNO(io(info, kcmd[k], NULL), ENOTTY);
	}
	EXPECT_OK(io(dir, MSHAREFS_GET_FS_STAT, buf));
	EXPECT_OK(io(info, MSHAREFS_GET_FS_STAT, buf));
	close(dir);
	close(info);

	/* not open for writing: EBADF whatever the argument */
	for (int k = K_CREATE; k <= K_PROTECT; k++) {
		valid_arg(k, buf);
		EXPECT_ERRNO(io(rofd, kcmd[k], buf), EBADF);
		EXPECT_ERRNO(io(rofd, kcmd[k], NULL), EBADF);
		EXPECT_ERRNO(io(rofd, kcmd[k], (void *)0x8000000000000000UL), EBADF);
	}
	EXPECT_OK(io(rofd, MSHAREFS_GET_REGION_STAT, buf));
}

/* ---------------------------------------------------------------------- */
/* 3. ftruncate, fallocate, mmap */

static void size_abuse(void)
{
	struct rlimit rl, old;
	struct stat st;
	int fd;

	fd = raw_create("hsize", 0);
	EXPECT_ERRNO(ftruncate(fd, -1), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, -(off_t)G), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, INT64_MIN), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, INT64_MAX), EINVAL);		/* not aligned */
	EXPECT_ERRNO(ftruncate(fd, (off_t)G - 1), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, (off_t)G + 1), EINVAL);
	EXPECT_ERRNO(truncate(mpath("hsize"), -1), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, 0, -1), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, 0, 0), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, -1, G), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, G, G), EINVAL);		/* offset not 0 */
	EXPECT_ERRNO(fallocate(fd, 0, 1LL << 62, 1LL << 62), EFBIG);	/* overflows */
	EXPECT_ERRNO(fallocate(fd, 0, INT64_MAX, INT64_MAX), EFBIG);
	EXPECT_ERRNO(fallocate(fd, 0, 0, INT64_MAX), EINVAL);	/* not aligned */

	/* RLIMIT_FSIZE: EFBIG (and SIGXFSZ, ignored here) */
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	rl = old;
	rl.rlim_cur = G;
	signal(SIGXFSZ, SIG_IGN);
	CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
	EXPECT_ERRNO(ftruncate(fd, 2 * G), EFBIG);
	EXPECT_ERRNO(fallocate(fd, 0, 0, 2 * G), EFBIG);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	signal(SIGXFSZ, SIG_DFL);

	CHECK(fstat(fd, &st) == 0 && st.st_size == 0);	/* none of it set a size */
	EXPECT_OK(ftruncate(fd, SZ));
	EXPECT_ERRNO(ftruncate(fd, -1), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, 0), EINVAL);
	EXPECT_ERRNO(ftruncate(fd, INT64_MAX & ~(off_t)(G - 1)), EINVAL);
	CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)SZ);
	close(fd);
	CHECK(unlink(mpath("hsize")) == 0);

	/*
	 * The largest size there is (no size= limit): fine, and so is a
	 * granule at its far end; it cannot be attached (no address space).
	 */
	{
		const __u64 max = (__u64)INT64_MAX & ~(__u64)(G - 1);
		struct msharefs_region_stat rs;

		fd = raw_create("hmax", 0);
		EXPECT_OK(ftruncate(fd, (off_t)max));
		CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)max);
		CHECK(io(fd, MSHAREFS_GET_REGION_STAT, &rs) == 0 && rs.region_size == max);
		EXPECT_ERRNO(mmap(NULL, (size_t)max, PROT_READ, MAP_SHARED, fd, 0), ENOMEM);
		EXPECT_OK(unmap_r(fd, max - G, G));
		EXPECT_ERRNO(protect_r(fd, max - G, G, PROT_READ, 0), ENOMEM);
		EXPECT_OK(create_r(fd, max - G, G, PROT_READ));
		EXPECT_OK(protect_r(fd, max - 2 * G, 2 * G, RW, 0));
		EXPECT_ERRNO(unmap_r(fd, max - G, 2 * G), EINVAL);	/* past the end */
		EXPECT_ERRNO(unmap_r(fd, max, G), EINVAL);
		EXPECT_ERRNO(protect_r(fd, max - G, U64MAX - G + 1, RW, 0), EINVAL);
		EXPECT_ERRNO(create_r(fd, U64MAX - G + 1, 2 * G, RW), EINVAL);
		close(fd);
		CHECK(unlink(mpath("hmax")) == 0);
	}
}

static void mmap_abuse(int fd, enum state s)
{
	const int *len_err = ERRS(EINVAL, ENOMEM);
	const int *inval = ERRS(EINVAL);
	/* the module's checks (EINVAL: no size) come before the core's flags */
	const int *notsupp = s == UNSIZED ? ERRS(EINVAL) : ERRS(EOPNOTSUPP);
	void *p;
	char *res;

	EXPECT_ERRNO(mmap(NULL, 0, RW, MAP_SHARED, fd, 0), EINVAL);
	p = mmap(NULL, SIZE_MAX, RW, MAP_SHARED, fd, 0);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, len_err, "mmap SIZE_MAX");
	p = mmap(NULL, SIZE_MAX - G + 1, RW, MAP_SHARED, fd, 0);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, len_err, "mmap 2^64 - granule");
	p = mmap(NULL, 1UL << 47, RW, MAP_SHARED, fd, 0);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, len_err, "mmap 2^47");
	p = mmap(NULL, 1UL << 46, RW, MAP_SHARED, fd, 0);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, len_err, "mmap 2^46");
	p = mmap(NULL, SZ + G, RW, MAP_SHARED, fd, 0);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, inval, "mmap a granule too long");
	p = mmap(NULL, SZ, RW, MAP_SHARED, fd, 1);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, inval, "mmap offset 1");
	p = mmap(NULL, SZ, RW, MAP_SHARED, fd, -4096);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, ERRS(EINVAL, EOVERFLOW), "mmap offset -4096");
	p = mmap(NULL, SZ, RW, MAP_SHARED, fd, (off_t)SZ);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, inval, "mmap offset = size");
	p = mmap(NULL, SZ, RW, MAP_SHARED, fd, INT64_MAX & ~(off_t)4095);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, ERRS(EINVAL, EOVERFLOW), "mmap offset 2^63 - 4096");
	/* flags the kernel refuses for any file, or this one */
	p = mmap(NULL, SZ, RW, MAP_SHARED | MAP_GROWSDOWN, fd, 0);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, inval, "mmap MAP_GROWSDOWN");
	p = mmap(NULL, SZ, RW, MAP_SHARED | MAP_HUGETLB, fd, 0);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, inval, "mmap MAP_HUGETLB");
	p = mmap(NULL, SZ, RW, MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, notsupp, "mmap MAP_SYNC");
	p = mmap(NULL, SZ, RW, MAP_SHARED_VALIDATE | 0x800000, fd, 0);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, notsupp, "mmap unknown flag");
	/* addresses: not aligned, beyond the user address space */
	p = mmap((void *)(0x7ffffffff000UL), SZ, RW, MAP_SHARED | MAP_FIXED, fd, 0);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, ERRS(EINVAL, ENOMEM), "mmap MAP_FIXED at the top");
	p = mmap((void *)((1UL << 47) - SZ + G), SZ, RW, MAP_SHARED | MAP_FIXED, fd, 0);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, ERRS(EINVAL, ENOMEM), "mmap MAP_FIXED across the top");
	p = mmap((void *)0xffff800000000000UL, SZ, RW, MAP_SHARED | MAP_FIXED, fd, 0);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, ERRS(EINVAL, ENOMEM), "mmap MAP_FIXED kernel address");
	p = mmap((void *)0xffff800000000000UL, SZ, RW, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
	EXPECT_IN(p == MAP_FAILED ? -1 : 0, errno, ERRS(EINVAL, ENOMEM), "mmap NOREPLACE kernel address");
	if (s == UNSIZED) {
		EXPECT_ERRNO(mmap(NULL, SZ, RW, MAP_SHARED | MAP_POPULATE, fd, 0), EINVAL);
		return;
	}
	/* MAP_POPULATE works, and a kernel-chosen address below a huge hint */
	p = mmap(NULL, SZ, RW, MAP_SHARED | MAP_POPULATE, fd, 0);
	CHECK(p != MAP_FAILED);
	CHECK(probe_read((char *)p + SZ - 1) == 0);
	CHECK(munmap(p, SZ) == 0);
	p = mmap((void *)0xffff800000000000UL, SZ, RW, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED && ((uintptr_t)p & (G - 1)) == 0);
	CHECK(munmap(p, SZ) == 0);
	/* MAP_FIXED over the process's own mappings replaces them */
	res = reserve_aligned(SZ);
	p = mmap(res, SZ, RW, MAP_SHARED | MAP_FIXED, fd, 0);
	CHECK(p == res);
	CHECK(munmap(p, SZ) == 0);
}

/* ---------------------------------------------------------------------- */
/* 4. races */

#define RACE_MS		4000
#define NNAMES		2
#define NSLOTS		4
#define MAX_UNEXPECTED	32

static const char *const race_names[NNAMES] = { "race0", "race1" };
static _Atomic int slots[NSLOTS];
static atomic_bool race_stop;
static pthread_mutex_t unexp_lock = PTHREAD_MUTEX_INITIALIZER;
static char unexpected[MAX_UNEXPECTED][96];
static int n_unexpected;
static atomic_long n_calls, n_segv, n_fail;

static __thread sigjmp_buf race_env;
static __thread volatile int race_armed;

static void race_handler(int sig)
{
	if (race_armed)
		siglongjmp(race_env, sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void note(const char *op, int r, int e, const int *allowed)
{
	atomic_fetch_add(&n_calls, 1);
	if (r != -1)
		return;
	atomic_fetch_add(&n_fail, 1);
	if (err_in(e, allowed))
		return;
	pthread_mutex_lock(&unexp_lock);
	if (n_unexpected < MAX_UNEXPECTED)
		snprintf(unexpected[n_unexpected], sizeof(unexpected[0]), "%s: %s",
			 op, live_errname(e));
	n_unexpected++;
	pthread_mutex_unlock(&unexp_lock);
}

/* note() of a call, with the errno it set */
#define NOTE(op, call, allowed) do {						\
	long _r;								\
	errno = 0;								\
	_r = (long)(call);							\
	note(op, (int)_r, errno, allowed);					\
} while (0)

static void note_sig(const char *op, int sig)
{
	if (sig == SIGSEGV) {
		atomic_fetch_add(&n_segv, 1);
		return;
	}
	pthread_mutex_lock(&unexp_lock);
	if (n_unexpected < MAX_UNEXPECTED)
		snprintf(unexpected[n_unexpected], sizeof(unexpected[0]),
			 "%s: signal %d", op, sig);
	n_unexpected++;
	pthread_mutex_unlock(&unexp_lock);
}

/* Touch (read, and write if asked) one byte; 0 or the signal. */
static int race_touch(volatile char *p, bool write)
{
	int sig = sigsetjmp(race_env, 0);

	if (sig == 0) {
		race_armed = 1;
		if (write)
			*p = 1;
		else
			(void)*p;
	}
	race_armed = 0;
	return sig;
}

static unsigned int rnd(unsigned int *seed, unsigned int n)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 8) % n;
}

static void publish(int slot, int fd)
{
	int old = atomic_exchange(&slots[slot], fd);

	if (old >= 0)
		close(old);
}

/* creates, sizes, replaces descriptors (closing the old ones) */
static void *race_sizer(void *arg)
{
	unsigned int seed = 1;

	(void)arg;
	while (!atomic_load(&race_stop)) {
		const char *name = mpath(race_names[rnd(&seed, NNAMES)]);
		int fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0600), r;

		note("open(O_CREAT)", fd, errno, ERRS(-2));
		if (fd < 0)
			continue;
		if (rnd(&seed, 2))
			r = ftruncate(fd, SZ), note("ftruncate", r, errno, ERRS(EINVAL));
		else
			r = fallocate(fd, 0, 0, SZ), note("fallocate", r, errno, ERRS(EINVAL));
		publish((int)rnd(&seed, NSLOTS), fd);
	}
	return NULL;
}

/* attaches whatever descriptor is there (or by name), touches, detaches */
static void *race_mapper(void *arg)
{
	unsigned int seed = 2;
	char *keep = NULL;

	(void)arg;
	while (!atomic_load(&race_stop)) {
		int fd = atomic_load(&slots[rnd(&seed, NSLOTS)]), own = -1;
		char *w;

		if (rnd(&seed, 4) == 0) {
			own = open(mpath(race_names[rnd(&seed, NNAMES)]), O_RDWR | O_CLOEXEC);
			note("open", own, errno, ERRS(ENOENT));
			fd = own;
		}
		if (fd < 0)
			continue;
		w = mmap(NULL, SZ, RW, MAP_SHARED, fd, 0);
		note("mmap", w == MAP_FAILED ? -1 : 0, errno, ERRS(EINVAL, EBADF));
		if (own >= 0)
			close(own);
		if (w == MAP_FAILED)
			continue;
		for (int i = 0; i < 8; i++) {
			size_t off = (size_t)rnd(&seed, SZ / 4096) * 4096;
			int sig = race_touch(w + off, rnd(&seed, 2));

			if (sig)
				note_sig("touch", sig);
		}
		if (keep) {
			for (int i = 0; i < 4; i++) {
				int sig = race_touch(keep + (size_t)rnd(&seed, SZ / 4096) * 4096, true);

				if (sig)
					note_sig("touch kept", sig);
			}
			NOTE("munmap", munmap(keep, SZ), ERRS(-2));
			keep = NULL;
		}
		if (rnd(&seed, 2))
			keep = w;
		else
			NOTE("munmap", munmap(w, SZ), ERRS(-2));
	}
	if (keep)
		munmap(keep, SZ);
	return NULL;
}

/* unlinks, recreates, renames names; closes descriptors */
static void *race_unlinker(void *arg)
{
	unsigned int seed = 3;

	(void)arg;
	while (!atomic_load(&race_stop)) {
		const char *name = mpath(race_names[rnd(&seed, NNAMES)]);
		int fd, old;

		switch (rnd(&seed, 4)) {
		case 0:
			NOTE("unlink", unlink(name), ERRS(ENOENT));
			break;
		case 1:
			fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			note("open(O_EXCL)", fd, errno, ERRS(EEXIST));
			if (fd >= 0)
				publish((int)rnd(&seed, NSLOTS), fd);
			break;
		case 2:
			NOTE("rename", rename(mpath(race_names[0]), mpath(race_names[1])),
			     ERRS(ENOENT));
			break;
		default:
			old = atomic_exchange(&slots[rnd(&seed, NSLOTS)], -1);
			if (old >= 0)
				NOTE("close", close(old), ERRS(-2));
		}
	}
	return NULL;
}

/* the ioctls, on whatever descriptor is there */
static void *race_ioctler(void *arg)
{
	unsigned int seed = 4;
	static const __u32 prots[] = { PROT_NONE, PROT_READ, RW, RWX };

	(void)arg;
	while (!atomic_load(&race_stop)) {
		int fd = atomic_load(&slots[rnd(&seed, NSLOTS)]);
		__u64 first = rnd(&seed, NG), n = 1 + rnd(&seed, (unsigned int)(NG - first));
		union {
			struct msharefs_region_stat rs;
			struct msharefs_fs_stat fs;
		} st;
		int r;

		if (fd < 0)
			continue;
		switch (rnd(&seed, 5)) {
		case 0:
			r = create_r(fd, first * G, n * G, prots[rnd(&seed, 4)]);
			note("CREATE_MAPPING", r, errno, ERRS(EINVAL, EBADF));
			break;
		case 1:
			r = unmap_r(fd, first * G, n * G);
			note("UNMAP", r, errno, ERRS(EINVAL, EBADF));
			break;
		case 2:
			r = protect_r(fd, first * G, n * G, prots[rnd(&seed, 4)], 0);
			note("PROTECT", r, errno, ERRS(EINVAL, EBADF, ENOMEM));
			break;
		case 3:
			r = io(fd, MSHAREFS_GET_REGION_STAT, &st.rs);
			note("GET_REGION_STAT", r, errno, ERRS(EBADF));
			break;
		default:
			r = io(fd, MSHAREFS_GET_FS_STAT, &st.fs);
			note("GET_FS_STAT", r, errno, ERRS(EBADF));
		}
	}
	return NULL;
}

static void races(void)
{
	void *(*fns[4])(void *) = { race_sizer, race_mapper, race_unlinker, race_ioctler };
	struct sigaction sa = { .sa_handler = race_handler }, osegv, obus;
	pthread_t th[4];
	long end;

	for (int i = 0; i < NSLOTS; i++)
		atomic_store(&slots[i], -1);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	CHECK(sigaction(SIGSEGV, &sa, &osegv) == 0);
	CHECK(sigaction(SIGBUS, &sa, &obus) == 0);
	klog_mark("races start");
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&th[i], NULL, fns[i], NULL) == 0);
	end = now_ms() + RACE_MS;
	while (now_ms() < end)
		usleep(50000);
	atomic_store(&race_stop, true);
	for (int i = 0; i < 4; i++)
		CHECK(pthread_join(th[i], NULL) == 0);
	klog_mark("races end");
	sigaction(SIGSEGV, &osegv, NULL);
	sigaction(SIGBUS, &obus, NULL);
	for (int i = 0; i < NSLOTS; i++) {
		int fd = atomic_exchange(&slots[i], -1);

		if (fd >= 0)
			close(fd);
	}
	for (int i = 0; i < NNAMES; i++)
		if (unlink(mpath(race_names[i])) != 0)
			CHECK(errno == ENOENT);
	fprintf(stderr, "races: %ld calls, %ld failed with an allowed errno, %ld SIGSEGV "
		"touches, %d unexpected\n", atomic_load(&n_calls),
		atomic_load(&n_fail), atomic_load(&n_segv), n_unexpected);
	for (int i = 0; i < n_unexpected && i < MAX_UNEXPECTED; i++)
		fprintf(stderr, "  unexpected: %s\n", unexpected[i]);
	CHECKF(n_unexpected == 0, "%d calls in the races failed unexpectedly", n_unexpected);
	CHECKF(atomic_load(&n_calls) > 1000, "only %ld calls in the races",
	       atomic_load(&n_calls));
}

/* ---------------------------------------------------------------------- */
/* 5. huge regions */

#define HUGE_SZ		(1ULL << 42)	/* 4 TiB: 2 Mi granules */
#define HUGE_MS		5000		/* per request, TCG on a busy host included */
#define HUGE_KIB	4096		/* kernel memory per request */

static long kernel_kib(void)
{
	return meminfo_kib("Slab") + meminfo_kib("KernelStack") + meminfo_kib("PageTables");
}

/* Returns the number of requests that were too slow or too hungry. */
static int huge_op(int fd, const char *what, int (*op)(int, __u64, __u64, __u32),
		   __u64 size, __u32 prot, int want)
{
	long k0 = kernel_kib(), t0 = now_ms(), dt, dk;
	int r = op(fd, 0, size, prot), e = errno;

	dt = now_ms() - t0;
	dk = kernel_kib() - k0;
	fprintf(stderr, "huge region: %s over %llu GiB: %d (%s), %ld ms, kernel memory %+ld KiB\n",
		what, (unsigned long long)(size >> 30), r, r ? live_errname(e) : "ok", dt, dk);
	CHECKF(want ? (r == -1 && e == want) : r == 0, "huge region: %s: %d (%s), want %s",
	       what, r, live_errname(e), want ? live_errname(want) : "success");
	return (dt > HUGE_MS) + (dk > HUGE_KIB);
}

static int op_protect(int fd, __u64 off, __u64 size, __u32 prot)
{
	return protect_r(fd, off, size, prot, 0);
}

static int op_unmap(int fd, __u64 off, __u64 size, __u32 prot)
{
	(void)prot;
	return unmap_r(fd, off, size);
}

static int huge_regions(void)
{
	struct msharefs_region_stat rs;
	int fd, bad = 0;
	long k0 = kernel_kib();
	char *w;

	fd = raw_create("huge", HUGE_SZ);
	CHECK(io(fd, MSHAREFS_GET_REGION_STAT, &rs) == 0 && rs.region_size == HUGE_SZ);
	/* a window of it works at its far end */
	w = raw_attach(fd, HUGE_SZ, RW);
	fill_pattern(w + HUGE_SZ - G, G, SEED);
	CHECK(verify_pattern(w + HUGE_SZ - G, G, SEED) == -1);
	CHECK(unmap_r(fd, HUGE_SZ - G, G) == 0);
	CHECK(probe_read(w + HUGE_SZ - 1) == SIGSEGV);
	EXPECT_ERRNO(protect_r(fd, HUGE_SZ - 2 * G, 2 * G, PROT_READ, 0), ENOMEM);
	CHECK(create_r(fd, HUGE_SZ - G, G, PROT_READ) == 0);
	CHECK(probe_read(w + HUGE_SZ - 1) == 0 && w[HUGE_SZ - 1] == 0);
	CHECK(probe_write(w + HUGE_SZ - 1, 1) == SIGSEGV);
	CHECK(probe_write(w + HUGE_SZ - G - 1, 1) == 0);

	/* whole-range requests: bounded time and memory */
	bad += huge_op(fd, "PROTECT PROT_READ", op_protect, HUGE_SZ, PROT_READ, 0);
	CHECK(probe_write(w + HUGE_SZ - G - 1, 1) == SIGSEGV);
	bad += huge_op(fd, "PROTECT RW", op_protect, HUGE_SZ, RW, 0);
	CHECK(probe_write(w + HUGE_SZ - G - 1, 2) == 0);
	bad += huge_op(fd, "UNMAP", op_unmap, HUGE_SZ, 0, 0);
	CHECK(probe_read(w) == SIGSEGV && probe_read(w + HUGE_SZ - 1) == SIGSEGV);
	bad += huge_op(fd, "PROTECT over holes", op_protect, HUGE_SZ, RW, ENOMEM);
	bad += huge_op(fd, "CREATE_MAPPING", create_r, HUGE_SZ, RW, 0);
	CHECK(probe_read(w + HUGE_SZ - 1) == 0 && w[HUGE_SZ - 1] == 0);
	bad += huge_op(fd, "CREATE_MAPPING", create_r, HUGE_SZ, RWX, 0);
	CHECK(munmap(w, HUGE_SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("huge")) == 0);
	fprintf(stderr, "huge region: kernel memory %+ld KiB after it is gone\n",
		kernel_kib() - k0);
	if (bad)
		fprintf(stderr, "huge region: %d request(s) took more than %d ms or %d KiB: "
			"their cost grows with the size of the range\n", bad, HUGE_MS, HUGE_KIB);
	return bad;
}

/* ---------------------------------------------------------------------- */

/* open(2): the flags msharefs refuses (O_TMPFILE: live-tmpfile) */
static void open_abuse(void)
{
	int fd;

	EXPECT_ERRNO(open(MNT "/mshare_info", O_WRONLY), EPERM);
	EXPECT_ERRNO(open(MNT "/mshare_info", O_RDWR), EPERM);
	EXPECT_ERRNO(open(MNT "/mshare_info", O_RDONLY | O_TRUNC), EPERM);
	fd = raw_create("otrunc", 0);
	/* O_TRUNC of a region whose size is not set: a no-op */
	close(EXPECT_OK(open(mpath("otrunc"), O_RDWR | O_TRUNC)));
	CHECK(ftruncate(fd, SZ) == 0);
	EXPECT_ERRNO(open(mpath("otrunc"), O_RDWR | O_TRUNC), EINVAL);
	EXPECT_ERRNO(open(mpath("otrunc"), O_WRONLY | O_TRUNC | O_CREAT, 0600), EINVAL);
	/* Linux truncates on O_RDONLY | O_TRUNC too */
	EXPECT_ERRNO(open(mpath("otrunc"), O_RDONLY | O_TRUNC), EINVAL);
	close(fd);
	CHECK(unlink(mpath("otrunc")) == 0);
}

/*
 * Windows larger than any free stretch of the address space: ENOMEM.  A
 * 64 TiB region fits once in the 128 TiB of user space, not twice.
 */
static void address_space(void)
{
	const size_t big = 1UL << 46;
	char *w;
	int fd;

	fd = raw_create("bigwin", big);
	w = mmap(NULL, big, RW, MAP_SHARED, fd, 0);
	CHECKF(w != MAP_FAILED, "attach a 64 TiB region");
	CHECK(((uintptr_t)w & (G - 1)) == 0);
	EXPECT_ERRNO(mmap(NULL, big, RW, MAP_SHARED, fd, 0), ENOMEM);
	EXPECT_ERRNO(mmap(NULL, big, PROT_READ, MAP_SHARED, fd, 0), ENOMEM);
	/* the window works at both ends */
	CHECK(probe_write(w, 1) == 0 && probe_write(w + big - 1, 2) == 0);
	CHECK(munmap(w, big) == 0);
	close(fd);
	CHECK(unlink(mpath("bigwin")) == 0);
}

static void one_state(enum state s, int other)
{
	int fd, rofd;
	char *w = NULL;

	fd = raw_create("hreg", s == UNSIZED ? 0 : SZ);
	if (s == ATTACHED) {
		w = raw_attach(fd, SZ, RW);
		fill_pattern(w, SZ - G, SEED);
		fill_pattern(w + SZ - G, G, SEED + 1);
	}
	bad_pointers(fd, s, w);
	bad_values(fd, s, w, other);
	rofd = EXPECT_OK(open(mpath("hreg"), O_RDONLY));
	wrong_requests(fd, rofd);
	close(rofd);
	mmap_abuse(fd, s);
	check_window(w, "at the end");
	if (w)
		CHECK(munmap(w, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("hreg")) == 0);
}

static bool want_section(int argc, char **argv, const char *name)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

/* Sections: ioctls sizes open addrspace races huge (default: all, in that order). */
int main(int argc, char **argv)
{
	int other, bad = 0;

	live_init("live-hostile");
	psz = page_size();
	if (want_section(argc, argv, "ioctls")) {
		other = raw_create("other", SZ);
		for (enum state s = UNSIZED; s <= ATTACHED; s++)
			one_state(s, other);
		close(other);
		CHECK(unlink(mpath("other")) == 0);
	}
	if (want_section(argc, argv, "sizes"))
		size_abuse();
	if (want_section(argc, argv, "open"))
		open_abuse();
	if (want_section(argc, argv, "addrspace"))
		address_space();
	if (want_section(argc, argv, "races"))
		races();
	if (want_section(argc, argv, "huge"))
		bad = huge_regions();
	CHECKF(bad == 0, "huge region: %d whole-range request(s) cost more than "
	       "%d ms or %d KiB of kernel memory", bad, HUGE_MS, HUGE_KIB);
	live_done();
}
