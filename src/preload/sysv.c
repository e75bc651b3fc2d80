// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * System V shared memory.  A segment of at least MSHARE_MIN_SIZE that a
 * process under the library creates stays a real segment, the *handle*,
 * whose memory is never touched (it costs none): the kernel keeps doing
 * what programs rely on -- ids and keys, IPC_CREAT | IPC_EXCL, permission
 * checks, shm_segsz, IPC_STAT/IPC_SET, shm_nattch through fork, exit and
 * kill -9, destruction after IPC_RMID and the last detach.  Its memory is
 * the region sysv/<shmid> of the msharefs mount, sized up to the granule,
 * with the segment's permissions.
 *
 * shmat() of a segment that has a region attaches the handle too (so that
 * shm_nattch counts it) and shrinks that attachment to one page, then
 * attaches the region; shmdt() undoes both.  IPC_RMID removes the name of
 * the region (it lives on until its last window goes) and leaves a
 * tombstone, the directory sysv/<shmid>.rmid, so that a later shmat() of
 * that id fails with EIDRM rather than attaching the handle's own, empty,
 * memory; tombstones and regions of segments that no longer exist are
 * swept when a segment is created or detached.
 *
 * A process attaching a segment whose region does not exist (yet) takes
 * the shared lock of the sysv directory, which its creator holds
 * exclusively from shmget() until the region is sized, and looks again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "shim.h"

#ifndef SHM_HUGE_SHIFT
#define SHM_HUGE_SHIFT	26
#define SHM_HUGE_MASK	0x3f
#endif
#ifndef SHM_EXEC
#define SHM_EXEC	0100000
#endif
#define SHM_HUGE_FLAGS	(SHM_HUGETLB | (SHM_HUGE_MASK << SHM_HUGE_SHIFT))

#define SYSV_DIR	"sysv"
#define TOMB_SUFFIX	".rmid"

static size_t page_size(void)
{
	return (size_t)msp_sys_page_size();
}

static bool sysv_path(char *buf, const char *mnt, int id, const char *suffix)
{
	int n;

	if (id < 0)
		n = snprintf(buf, MSP_PATH_MAX, "%s/" SYSV_DIR, mnt);
	else
		n = snprintf(buf, MSP_PATH_MAX, "%s/" SYSV_DIR "/%d%s", mnt, id,
			     suffix);
	return n > 0 && n < MSP_PATH_MAX;
}

/* The sysv directory, open (and created, 1777, if @create); -1 if not. */
static int sysv_dir(const char *mnt, bool create)
{
	char dir[MSP_PATH_MAX];
	int fd;

	if (!sysv_path(dir, mnt, -1, ""))
		return -1;
	fd = msp_sys_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd >= 0 || errno != ENOENT || !create)
		return fd;
	if (!msp_sys_mkdir(dir, 01777))
		msp_sys_chmod(dir, 01777);	/* whatever the umask */
	return msp_sys_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
}

static bool is_dir(const char *path)
{
	int fd = msp_sys_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

	if (fd < 0)
		return false;
	msp_sys_close(fd);
	return true;
}

/* Whether segment @id no longer exists. */
static bool segment_gone(int id)
{
	struct shmid_ds ds;

	if (!msp_sys_shmctl(id, IPC_STAT, &ds))
		return false;
	return errno == EINVAL || errno == EIDRM;
}

/* Remove the region and the tombstone of a segment that is gone. */
static void sweep_id(const char *mnt, int id)
{
	char path[MSP_PATH_MAX];

	if (sysv_path(path, mnt, id, "") && !msp_sys_unlink(path))
		msp_log("region " SYSV_DIR "/%d: its segment is gone: removed", id);
	if (sysv_path(path, mnt, id, TOMB_SUFFIX))
		msp_sys_rmdir(path);
}

struct msp_dirent {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Sweep every region and tombstone whose segment is gone (under LOCK_EX). */
static void sweep_all(const char *mnt, int dirfd)
{
	char buf[4096];
	ssize_t n;

	while ((n = msp_sys_getdents(dirfd, buf, sizeof(buf))) > 0) {
		ssize_t off = 0;

		while (off < n) {
			struct msp_dirent *d = (struct msp_dirent *)(buf + off);
			char *end;
			long id;

			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			id = strtol(d->d_name, &end, 10);
			if (id < 0 || id > INT32_MAX ||
			    (*end && strcmp(end, TOMB_SUFFIX)))
				continue;
			if (segment_gone((int)id))
				sweep_id(mnt, (int)id);
		}
	}
}

/*
 * The memory of the new segment @id: the region sysv/<id>, of @size
 * rounded up to the granule, with the segment's permissions @mode.  On
 * failure the segment stays as it is (plain System V memory).
 */
static void make_region(const char *mnt, int dirfd, int id, size_t size,
			mode_t mode)
{
	char path[MSP_PATH_MAX];
	size_t rsize = msp_round_up(size, msp_granule());
	int fd;

	if (!rsize || !sysv_path(path, mnt, id, ""))
		return;
	/* Whatever has this id's names is from an earlier segment. */
	sweep_id(mnt, id);
	sweep_all(mnt, dirfd);
	fd = msp_sys_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
			  O_NOFOLLOW, 0600);
	if (fd < 0) {
		msp_log("shmget: segment %d: creating %s: %m: not redirected",
			id, path);
		return;
	}
	if (msp_sys_fchmod(fd, mode & 0777) ||
	    msp_sys_ftruncate(fd, (off_t)rsize)) {
		msp_log("shmget: segment %d: sizing %s to %zu bytes: %m: not redirected",
			id, path, rsize);
		msp_sys_close(fd);
		msp_sys_unlink(path);
		return;
	}
	msp_sys_close(fd);
	msp_log("shmget(%zu bytes): segment %d, its memory in region " SYSV_DIR
		"/%d (%zu bytes)", size, id, id, rsize);
}

MSP_SLOW static int shmget_slow(key_t key, size_t size, int flags)
{
	int saved = errno, cflags = flags, id, err, tries, dirfd;
	bool created = false;
	const char *mnt;

	msp_config_ensure();
	if (!msp_cfg.sysv || size < msp_cfg.min_size)
		return msp_sys_shmget(key, size, flags);
	if (flags & SHM_HUGE_FLAGS) {
		if (!msp_cfg.hugetlb) {
			msp_log("shmget(%zu bytes): SHM_HUGETLB (MSHARE_HUGETLB=1 redirects it): not redirected",
				size);
			return msp_sys_shmget(key, size, flags);
		}
		cflags &= ~SHM_HUGE_FLAGS;
	}
	if (!msp_lock())
		return msp_sys_shmget(key, size, flags);
	mnt = msp_mount();
	dirfd = mnt ? sysv_dir(mnt, true) : -1;
	if (dirfd < 0) {
		msp_log("shmget(%zu bytes): %s: not redirected", size,
			mnt ? "no " SYSV_DIR " directory" : "msharefs is not mounted");
		msp_unlock();
		return msp_sys_shmget(key, size, flags);
	}
	msp_sys_flock(dirfd, LOCK_EX);
	if (key == IPC_PRIVATE || (flags & IPC_EXCL)) {
		id = msp_sys_shmget(key, size, cflags);
		created = id >= 0;
	} else {
		/* Get or create: which one happens decides the region. */
		for (tries = 0;; tries++) {
			id = msp_sys_shmget(key, size, flags & ~IPC_CREAT);
			if (id >= 0 || errno != ENOENT)
				break;
			id = msp_sys_shmget(key, size, cflags | IPC_EXCL);
			if (id >= 0) {
				created = true;
				break;
			}
			if (errno != EEXIST || tries >= 16)
				break;
		}
	}
	err = errno;
	if (created)
		make_region(mnt, dirfd, id, size, (mode_t)(flags & 0777));
	msp_sys_flock(dirfd, LOCK_UN);
	msp_sys_close(dirfd);
	msp_unlock();
	errno = id >= 0 ? saved : err;
	return id;
}

int msp_shmget(key_t key, size_t size, int flags)
{
	if (MSP_LIKELY(!(flags & IPC_CREAT) || size < msp_cfg.min_size))
		return msp_sys_shmget(key, size, flags);
	return shmget_slow(key, size, flags);
}

/*
 * The region of segment @id, open to attach it (read-only with @rdonly).
 * Returns its fd; -1 with ENOENT: the segment has no region, attach it
 * as it is; -1 with another errno: what shmat() fails with (EIDRM: the
 * segment was redirected and removed).
 */
static int open_region(const char *mnt, int id, bool rdonly)
{
	int acc = (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW;
	char path[MSP_PATH_MAX], tomb[MSP_PATH_MAX];
	struct stat st;
	int fd, dirfd, err;

	if (!sysv_path(path, mnt, id, "") ||
	    !sysv_path(tomb, mnt, id, TOMB_SUFFIX)) {
		errno = ENOENT;
		return -1;
	}
	fd = msp_sys_open(path, acc, 0);
	if (fd >= 0 && (msp_sys_fstat(fd, &st) || st.st_size))
		return fd;
	if (fd < 0 && errno != ENOENT)
		return -1;
	/* No region, or one being sized: wait for a creator at work. */
	dirfd = sysv_dir(mnt, false);
	if (dirfd < 0) {
		if (fd >= 0)
			msp_sys_close(fd);
		errno = ENOENT;
		return -1;
	}
	msp_sys_flock(dirfd, LOCK_SH);
	if (fd >= 0)
		msp_sys_close(fd);
	fd = msp_sys_open(path, acc, 0);
	err = errno;
	if (fd >= 0 && !msp_sys_fstat(fd, &st) && !st.st_size) {
		/* Its creator died before sizing it: nobody attached it. */
		msp_sys_close(fd);
		msp_sys_unlink(path);
		fd = -1;
		err = ENOENT;
	}
	if (fd < 0 && err == ENOENT && is_dir(tomb)) {
		/* Redirected, then removed: its memory has no name any more. */
		if (segment_gone(id))
			sweep_id(mnt, id);	/* and shmat() says why */
		else
			err = EIDRM;
	}
	msp_sys_flock(dirfd, LOCK_UN);
	msp_sys_close(dirfd);
	errno = err;
	return fd;
}

/*
 * Attach the region open on @fd for segment @id as shmat(@id, @addr,
 * @flags) asks: the handle first (the kernel's checks and shm_nattch),
 * shrunk to one page, then the window.  Returns the window, (void *)-1
 * with errno, or NULL with ENOENT for a region that is not this
 * segment's (stale: removed; attach the segment as it is).
 */
static void *attach_region(const char *mnt, int fd, int id, const void *addr,
			   int flags)
{
	size_t ps = page_size(), granule = msp_granule(), known;
	bool rdonly = flags & SHM_RDONLY;
	int mflags = MAP_SHARED, prot, err;
	struct msp_window w = { 0 };
	uintptr_t want = 0;
	struct shmid_ds ds;
	struct stat st;
	char *h, *p;

	if (msp_sys_fstat(fd, &st))
		return (void *)-1;
	h = msp_sys_shmat(id, NULL, flags & (SHM_RDONLY | SHM_EXEC));
	if (h == (void *)-1) {
		err = errno;
		if (err == EINVAL || err == EIDRM) {
			if (segment_gone(id))
				sweep_id(mnt, id);
		}
		errno = err;
		return (void *)-1;
	}
	if (msp_sys_shmctl(id, IPC_STAT, &ds)) {
		err = errno;
		msp_sys_shmdt(h);
		errno = err;
		return (void *)-1;
	}
	known = msp_round_up(ds.shm_segsz, ps);
	if (!known || known > (size_t)st.st_size) {
		/* A region of an earlier segment with this id. */
		msp_sys_shmdt(h);
		sweep_id(mnt, id);
		errno = ENOENT;
		return NULL;
	}
	if (known > ps)
		msp_sys_munmap(h + ps, known - ps);

	if (addr) {
		want = (uintptr_t)addr;
		if (flags & SHM_RND)
			want &= ~(uintptr_t)(SHMLBA - 1);
		err = EINVAL;
		if (want & (SHMLBA - 1))
			goto undo;
		if (want & (granule - 1)) {
			msp_log("shmat(%d, %p): not aligned to the granule (%zu bytes)",
				id, addr, granule);
			goto undo;
		}
		mflags |= (flags & SHM_REMAP) ? MAP_FIXED : MAP_FIXED_NOREPLACE;
	} else if (flags & SHM_REMAP) {
		err = EINVAL;
		goto undo;
	}
	prot = PROT_READ | (rdonly ? 0 : PROT_WRITE) |
	       ((flags & SHM_EXEC) ? PROT_EXEC : 0);
	err = ENOMEM;
	if (__atomic_load_n(&msp_nr_windows, __ATOMIC_RELAXED) >= MSP_MAX_WINDOWS)
		goto undo;
	p = msp_sys_mmap((void *)want, (size_t)st.st_size, prot, mflags, fd, 0);
	if (p == MAP_FAILED) {
		err = errno == EEXIST ? EINVAL : errno;
		goto undo;
	}
	if (mflags & MAP_FIXED)
		msp_forget_replaced((uintptr_t)p, (uintptr_t)p + st.st_size);
	w.start = (uintptr_t)p;
	w.end = w.start + (size_t)st.st_size;
	w.known_end = w.start + known;
	w.handle = (uintptr_t)h;
	w.ino = st.st_ino;
	w.dev = (uint64_t)major(st.st_dev) << 32 | minor(st.st_dev);
	w.prot = prot;
	w.kind = MSP_SYSV;
	w.shmid = id;
	msp_window_add(&w);	/* room checked above, under the lock */
	msp_log("shmat(%d): region " SYSV_DIR "/%d at %p", id, id, p);
	return p;
undo:
	msp_sys_shmdt(h);
	errno = err;
	return (void *)-1;
}

void *msp_shmat(int id, const void *addr, int flags)
{
	int saved = errno, fd, err;
	const char *mnt;
	void *p, *h;

	msp_config_ensure();
	if (!msp_lock())
		return msp_sys_shmat(id, addr, flags);
	mnt = msp_mount();
	if (!mnt) {
		msp_unlock();
		errno = saved;
		return msp_sys_shmat(id, addr, flags);
	}
	fd = open_region(mnt, id, flags & SHM_RDONLY);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT) {
			p = msp_sys_shmat(id, addr, flags);
			msp_unlock();
			return p;
		}
		if (err == EACCES) {
			/* The kernel's check, for the kernel's errno. */
			h = msp_sys_shmat(id, NULL, flags & (SHM_RDONLY | SHM_EXEC));
			if (h == (void *)-1)
				err = errno;
			else
				msp_sys_shmdt(h);
		} else if (err != EIDRM) {
			msp_log("shmat(%d): opening its region: %m", id);
			err = ENOMEM;
		}
		msp_unlock();
		errno = err;
		return (void *)-1;
	}
	p = attach_region(mnt, fd, id, addr, flags);
	msp_sys_close(fd);
	if (!p)		/* a stale region, gone now */
		p = msp_sys_shmat(id, addr, flags);
	else if (p != (void *)-1)
		errno = saved;
	msp_unlock();
	return p;
}

MSP_SLOW static int shmdt_slow(const void *addr)
{
	int saved = errno, id;
	struct msp_window *w;
	const char *mnt;

	if (!msp_lock())
		return msp_sys_shmdt(addr);
	w = msp_window_at((uintptr_t)addr);
	if (!w || w->kind != MSP_SYSV || !msp_window_check(w)) {
		if (w && w->kind == MSP_SYSV) {
			msp_log("window %p is no longer mapped as it was: forgotten",
				addr);
			msp_window_del(w);
		}
		msp_unlock();
		return msp_sys_shmdt(addr);
	}
	if (msp_sys_munmap((void *)w->start, w->end - w->start)) {
		msp_unlock();
		return -1;
	}
	msp_sys_shmdt((void *)w->handle);
	id = w->shmid;
	msp_window_del(w);
	msp_log("shmdt(%p): region " SYSV_DIR "/%d detached", addr, id);
	/* The last detach of a removed segment: its names go too. */
	mnt = msp_mount();
	if (mnt && segment_gone(id))
		sweep_id(mnt, id);
	msp_unlock();
	errno = saved;
	return 0;
}

int msp_shmdt(const void *addr)
{
	if (MSP_LIKELY(msp_no_windows()))
		return msp_sys_shmdt(addr);
	return shmdt_slow(addr);
}

/* After a successful IPC_RMID or IPC_SET of segment @id. */
static void shmctl_region(int id, int cmd)
{
	char path[MSP_PATH_MAX], tomb[MSP_PATH_MAX];
	struct shmid_ds ds;
	const char *mnt;
	int dirfd;

	mnt = msp_mount();
	if (!mnt || !sysv_path(path, mnt, id, "") ||
	    !sysv_path(tomb, mnt, id, TOMB_SUFFIX))
		return;
	if (cmd == IPC_SET) {
		if (msp_sys_shmctl(id, IPC_STAT, &ds))
			return;
		if (msp_sys_chmod(path, ds.shm_perm.mode & 0777) &&
		    errno == ENOENT)
			return;
		if (msp_sys_chown(path, ds.shm_perm.uid, ds.shm_perm.gid))
			msp_log("IPC_SET of segment %d: owner of region " SYSV_DIR
				"/%d: %m", id, id);
		return;
	}
	dirfd = sysv_dir(mnt, false);
	if (dirfd < 0)
		return;
	msp_sys_flock(dirfd, LOCK_EX);
	if (!msp_sys_unlink(path)) {
		if (!segment_gone(id))
			msp_sys_mkdir(tomb, 0755);
		msp_log("IPC_RMID of segment %d: region " SYSV_DIR
			"/%d removed, freed with its last window", id, id);
	} else if (errno != ENOENT) {
		msp_log("IPC_RMID of segment %d: removing region " SYSV_DIR
			"/%d: %m", id, id);
	}
	msp_sys_flock(dirfd, LOCK_UN);
	msp_sys_close(dirfd);
}

int msp_shmctl(int id, int cmd, struct shmid_ds *buf)
{
	int saved, ret;

	if (MSP_LIKELY(cmd != IPC_RMID && cmd != IPC_SET))
		return msp_sys_shmctl(id, cmd, buf);
	ret = msp_sys_shmctl(id, cmd, buf);
	if (ret)
		return ret;
	saved = errno;
	msp_config_ensure();
	if (msp_lock()) {
		shmctl_region(id, cmd);
		msp_unlock();
	}
	errno = saved;
	return 0;
}
