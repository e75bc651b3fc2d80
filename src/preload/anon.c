// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Anonymous shared memory: mmap(MAP_SHARED | MAP_ANONYMOUS) of at least
 * MSHARE_MIN_SIZE becomes an msharefs region without a name (O_TMPFILE),
 * sized up to the granule and attached: fork children keep the window
 * and link the same page tables, and the region dies with its last window
 * (exit, kill -9), as shared anonymous memory does.
 *
 * A window is one unit for the module (one size, one protection).  So:
 *  - munmap() of the range the program knows (its length, page-rounded)
 *    detaches the whole window; of a part of it: EINVAL;
 *  - mprotect() to the protection the window has is a no-op on it (the
 *    module refuses any mprotect); to another: the module's EINVAL;
 *  - madvise() hints the module refuses on part of a window (they would
 *    split it) are ignored on the window and applied elsewhere;
 *  - a MAP_FIXED mapping or an mremap(MREMAP_FIXED) that replaces whole
 *    windows makes the library forget them.
 * Whatever cannot be redirected goes to the kernel unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "shim.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT		26
#define MAP_HUGE_MASK		0x3f
#endif
#ifndef MADV_COLD
#define MADV_COLD		20
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif

/* Flags a window honours as they are (MAP_FIXED*: see msp_anon_decide()). */
#define MSP_WINDOW_FLAGS	(MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_NORESERVE | \
				 MAP_POPULATE | MAP_32BIT | MAP_NONBLOCK)
/* Flags accepted and dropped. */
#define MSP_IGNORED_FLAGS	(MAP_STACK)
#define MSP_HUGE_FLAGS		(MAP_HUGETLB | (MAP_HUGE_MASK << MAP_HUGE_SHIFT))

static size_t page_size(void)
{
	static size_t ps;

	if (!ps)
		ps = (size_t)msp_sys_page_size();
	return ps;
}

const char *msp_why_text(enum msp_why why)
{
	switch (why) {
	case MSP_REDIRECT:
		return "redirected";
	case MSP_NOT_SHARED_ANON:
		return "not shared anonymous memory";
	case MSP_TOO_SMALL:
		return "smaller than MSHARE_MIN_SIZE";
	case MSP_DISABLED:
		return "MSHARE_ANON=0";
	case MSP_HUGETLB:
		return "MAP_HUGETLB (MSHARE_HUGETLB=1 redirects it)";
	case MSP_PROT:
		return "PROT_NONE or an unknown protection";
	case MSP_FLAGS:
		return "a flag a window cannot honour";
	case MSP_FIXED:
		return "MAP_FIXED off the granule";
	}
	return "?";
}

enum msp_why msp_anon_decide(const struct msp_config *cfg, const void *addr,
			     size_t len, int prot, int flags, size_t granule)
{
	int allowed = MAP_TYPE | MAP_ANONYMOUS | MSP_WINDOW_FLAGS |
		      MSP_IGNORED_FLAGS;

	if ((flags & MAP_TYPE) != MAP_SHARED || !(flags & MAP_ANONYMOUS))
		return MSP_NOT_SHARED_ANON;
	if (len < cfg->min_size || !len)
		return MSP_TOO_SMALL;
	if (!cfg->anon)
		return MSP_DISABLED;
	if (flags & MSP_HUGE_FLAGS) {
		if (!cfg->hugetlb)
			return MSP_HUGETLB;
		allowed |= MSP_HUGE_FLAGS;
	}
	if (!prot || (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)))
		return MSP_PROT;
	if (flags & ~allowed)
		return MSP_FLAGS;
	/* A window may not take more than what MAP_FIXED gave: same length. */
	if ((flags & MAP_FIXED) &&
	    (((uintptr_t)addr & (granule - 1)) || (len & (granule - 1))))
		return MSP_FIXED;
	if ((flags & MAP_FIXED_NOREPLACE) && ((uintptr_t)addr & (granule - 1)))
		return MSP_FIXED;
	return MSP_REDIRECT;
}

static uint64_t dev_of(const struct stat *st)
{
	return (uint64_t)major(st->st_dev) << 32 | minor(st->st_dev);
}

/* A window for the mmap() arguments, or MAP_FAILED (then: the kernel's). */
static void *redirect(void *addr, size_t len, int prot, int flags)
{
	struct msp_window w = { 0 };
	const char *mnt;
	enum msp_why why;
	struct stat st;
	size_t granule, size;
	void *p;
	int fd;

	mnt = msp_mount();
	if (!mnt) {
		msp_log("mmap(%zu bytes): msharefs is not mounted: not redirected",
			len);
		return MAP_FAILED;
	}
	granule = msp_granule();
	why = msp_anon_decide(&msp_cfg, addr, len, prot, flags, granule);
	if (why != MSP_REDIRECT) {
		msp_log("mmap(%zu bytes, flags %#x): %s: not redirected", len,
			(unsigned int)flags, msp_why_text(why));
		return MAP_FAILED;
	}
	size = msp_round_up(len, granule);
	if (!size)
		return MAP_FAILED;
	if (__atomic_load_n(&msp_nr_windows, __ATOMIC_RELAXED) >= MSP_MAX_WINDOWS) {
		msp_log("mmap(%zu bytes): %d windows already: not redirected",
			len, MSP_MAX_WINDOWS);
		return MAP_FAILED;
	}
	fd = msp_sys_open(mnt, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (fd < 0) {
		msp_log("mmap(%zu bytes): O_TMPFILE region on %s: %m: not redirected",
			len, mnt);
		return MAP_FAILED;
	}
	if (msp_sys_ftruncate(fd, (off_t)size) || msp_sys_fstat(fd, &st)) {
		msp_log("mmap(%zu bytes): sizing a region of %zu bytes: %m: not redirected",
			len, size);
		msp_sys_close(fd);
		return MAP_FAILED;
	}
	p = msp_sys_mmap(addr, size, prot,
			 MAP_SHARED | (flags & MSP_WINDOW_FLAGS), fd, 0);
	msp_sys_close(fd);
	if (p == MAP_FAILED) {
		msp_log("mmap(%zu bytes): attaching a region of %zu bytes: %m: not redirected",
			len, size);
		return MAP_FAILED;
	}
	if (flags & MAP_FIXED)
		msp_forget_replaced((uintptr_t)p, (uintptr_t)p + size);
	w.start = (uintptr_t)p;
	w.end = w.start + size;
	w.known_end = w.start + msp_round_up(len, page_size());
	w.prot = prot;
	w.kind = MSP_ANON;
	w.ino = st.st_ino;
	w.dev = dev_of(&st);
	if (msp_window_add(&w)) {	/* checked above, under the lock */
		msp_sys_munmap(p, size);
		return MAP_FAILED;
	}
	msp_log("mmap(%zu bytes): region #%llu of %zu bytes at %p",
		len, (unsigned long long)st.st_ino, size, p);
	return p;
}

/* MAP_FIXED while windows exist: forget those it replaces. */
MSP_SLOW static void *mmap_fixed(void *addr, size_t len, int prot, int flags, int fd,
			off_t off)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + msp_round_up(len, page_size());
	void *p;

	if (hi <= lo || !msp_window_hits(lo, hi) || !msp_lock())
		return msp_sys_mmap(addr, len, prot, flags, fd, off);
	p = msp_sys_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED)
		msp_forget_replaced(lo, hi);
	msp_unlock();
	return p;
}

MSP_SLOW static void *mmap_slow(void *addr, size_t len, int prot, int flags, int fd,
		       off_t off)
{
	int saved = errno;
	void *p;

	msp_config_ensure();
	if (!msp_lock())
		return msp_sys_mmap(addr, len, prot, flags, fd, off);
	p = redirect(addr, len, prot, flags);
	msp_unlock();
	if (p != MAP_FAILED) {
		errno = saved;
		return p;
	}
	if (flags & MAP_FIXED)
		return mmap_fixed(addr, len, prot, flags, fd, off);
	return msp_sys_mmap(addr, len, prot, flags, fd, off);
}

void *msp_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (MSP_LIKELY((flags & (MAP_TYPE | MAP_ANONYMOUS)) !=
		       (MAP_SHARED | MAP_ANONYMOUS) || len < msp_cfg.min_size)) {
		if (MSP_LIKELY(!(flags & MAP_FIXED) || msp_no_windows()))
			return msp_sys_mmap(addr, len, prot, flags, fd, off);
		return mmap_fixed(addr, len, prot, flags, fd, off);
	}
	return mmap_slow(addr, len, prot, flags, fd, off);
}

/* [*lo, *hi): the pages of [addr, addr + len); false if none or invalid. */
static bool page_range(const void *addr, size_t len, uintptr_t *lo,
		       uintptr_t *hi)
{
	size_t ps = page_size(), rlen = msp_round_up(len, ps);

	*lo = (uintptr_t)addr;
	if (!len || !rlen || (*lo & (ps - 1)) || *lo + rlen < *lo)
		return false;
	*hi = *lo + rlen;
	return true;
}

MSP_SLOW static int munmap_slow(void *addr, size_t len)
{
	uintptr_t lo, hi, end;
	struct msp_window *w;
	unsigned int pos = 0;
	int ret;

	if (!page_range(addr, len, &lo, &hi) || !msp_window_hits(lo, hi) ||
	    !msp_lock())
		return msp_sys_munmap(addr, len);
	end = hi;
	while ((w = msp_window_next(lo, hi, &pos))) {
		if (!msp_window_check(w)) {
			msp_log("window %#lx-%#lx is no longer mapped as it was: forgotten",
				(unsigned long)w->start, (unsigned long)w->end);
			msp_window_del(w);
			continue;
		}
		if (lo > w->start || hi < w->known_end) {
			/* Part of what the program knows: the module refuses. */
			msp_unlock();
			return msp_sys_munmap(addr, len);
		}
		if (w->end > end)
			end = w->end;
	}
	ret = msp_sys_munmap(addr, end - lo);
	if (!ret) {
		pos = 0;
		while ((w = msp_window_next(lo, end, &pos))) {
			msp_log("munmap: region #%llu at %#lx detached",
				(unsigned long long)w->ino,
				(unsigned long)w->start);
			if (w->kind == MSP_SYSV && w->handle)
				msp_sys_shmdt((void *)w->handle);
			msp_window_del(w);
		}
	}
	msp_unlock();
	return ret;
}

int msp_munmap(void *addr, size_t len)
{
	if (MSP_LIKELY(msp_no_windows()))
		return msp_sys_munmap(addr, len);
	return munmap_slow(addr, len);
}

MSP_SLOW static void *mremap_fixed(void *old, size_t old_len,
				   size_t new_len, int flags, void *new_addr)
{
	uintptr_t lo, hi;
	void *p;

	if (!page_range(new_addr, new_len, &lo, &hi) ||
	    !msp_window_hits(lo, hi) || !msp_lock())
		return msp_sys_mremap(old, old_len, new_len, flags, new_addr);
	p = msp_sys_mremap(old, old_len, new_len, flags, new_addr);
	if (p != MAP_FAILED)
		msp_forget_replaced(lo, hi);
	msp_unlock();
	return p;
}

void *msp_mremap(void *old, size_t old_len, size_t new_len, int flags,
		 void *new_addr)
{
	if (MSP_LIKELY(msp_no_windows() || !(flags & MREMAP_FIXED)))
		return msp_sys_mremap(old, old_len, new_len, flags, new_addr);
	return mremap_fixed(old, old_len, new_len, flags, new_addr);
}

/*
 * The windows intersecting [lo, hi), sorted by address, into @v (at most
 * @max); under msp_lock.  Returns how many.
 */
static unsigned int windows_in(uintptr_t lo, uintptr_t hi,
			       struct msp_window **v, unsigned int max)
{
	struct msp_window *w;
	unsigned int n = 0, pos = 0, i;

	while (n < max && (w = msp_window_next(lo, hi, &pos))) {
		for (i = n; i > 0 && v[i - 1]->start > w->start; i--)
			v[i] = v[i - 1];
		v[i] = w;
		n++;
	}
	return n;
}

/*
 * Apply @op to the parts of [lo, hi) outside the windows in it.
 * Returns 0 or -1 (errno of the first part that failed).
 */
static int outside_windows(uintptr_t lo, uintptr_t hi,
			   int (*op)(void *, size_t, int), int arg)
{
	struct msp_window *v[MSP_MAX_WINDOWS];
	unsigned int n = windows_in(lo, hi, v, MSP_MAX_WINDOWS), i;
	uintptr_t cur = lo;

	for (i = 0; i < n && cur < hi; i++) {
		if (cur < v[i]->start &&
		    op((void *)cur, v[i]->start - cur, arg))
			return -1;
		if (v[i]->end > cur)
			cur = v[i]->end;
	}
	if (cur < hi && op((void *)cur, hi - cur, arg))
		return -1;
	return 0;
}

static bool same_prot(uintptr_t lo, uintptr_t hi, int prot)
{
	struct msp_window *w;
	unsigned int pos = 0;

	while ((w = msp_window_next(lo, hi, &pos)))
		if (w->prot != prot)
			return false;
	return true;
}

MSP_SLOW static int mprotect_slow(void *addr, size_t len, int prot)
{
	int saved = errno, ret;
	uintptr_t lo, hi;

	if (!page_range(addr, len, &lo, &hi) || !msp_window_hits(lo, hi) ||
	    !msp_lock())
		return msp_sys_mprotect(addr, len, prot);
	if (!same_prot(lo, hi, prot)) {
		/* A real change of a window's protection: the module's EINVAL. */
		msp_unlock();
		return msp_sys_mprotect(addr, len, prot);
	}
	ret = outside_windows(lo, hi, msp_sys_mprotect, prot);
	msp_unlock();
	if (!ret)
		errno = saved;
	return ret;
}

int msp_mprotect(void *addr, size_t len, int prot)
{
	if (MSP_LIKELY(msp_no_windows()))
		return msp_sys_mprotect(addr, len, prot);
	return mprotect_slow(addr, len, prot);
}

/* Advice that only tunes what the kernel does, and may be dropped. */
static bool is_hint(int advice)
{
	switch (advice) {
	case MADV_NORMAL:
	case MADV_RANDOM:
	case MADV_SEQUENTIAL:
	case MADV_WILLNEED:
	case MADV_MERGEABLE:
	case MADV_UNMERGEABLE:
	case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE:
	case MADV_DONTDUMP:
	case MADV_DODUMP:
	case MADV_COLD:
	case MADV_PAGEOUT:
	case MADV_COLLAPSE:
		return true;
	}
	return false;
}

MSP_SLOW static int madvise_slow(void *addr, size_t len, int advice)
{
	int saved = errno, ret, err;
	uintptr_t lo, hi;

	ret = msp_sys_madvise(addr, len, advice);
	if (!ret || errno != EINVAL || !is_hint(advice))
		return ret;
	err = errno;
	if (!page_range(addr, len, &lo, &hi) || !msp_window_hits(lo, hi) ||
	    !msp_lock()) {
		errno = err;
		return ret;
	}
	ret = outside_windows(lo, hi, msp_sys_madvise, advice);
	msp_unlock();
	if (!ret) {
		msp_log("madvise(%p, %zu, %d): ignored on windows", addr, len,
			advice);
		errno = saved;
	}
	return ret;
}

int msp_madvise(void *addr, size_t len, int advice)
{
	if (MSP_LIKELY(msp_no_windows()))
		return msp_sys_madvise(addr, len, advice);
	return madvise_slow(addr, len, advice);
}

int msp_posix_madvise(void *addr, size_t len, int advice)
{
	int saved = errno, ret;

	/* glibc: POSIX_MADV_DONTNEED is not MADV_DONTNEED, and does nothing. */
	if (advice == POSIX_MADV_DONTNEED)
		return 0;
	ret = msp_madvise(addr, len, advice) ? errno : 0;
	errno = saved;
	return ret;
}
