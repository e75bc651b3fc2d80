// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The windows this process has: a fixed table, read without a lock (a
 * slot is published by storing its start last, with release order, and
 * freed by storing 0), changed under msp_lock.  msp_nr_windows == 0 lets
 * munmap() and friends skip everything with one atomic load; otherwise
 * they scan the slots below msp_hiwater.
 *
 * The lock is held across fork() (pthread_atfork), so that a child never
 * inherits a window half-recorded.  A thread that already holds it (a
 * signal handler calling mmap() while the library works) does not wait:
 * its call goes to the kernel as it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>

#include "shim.h"

struct msp_window msp_windows[MSP_MAX_WINDOWS];
unsigned int msp_nr_windows;
unsigned int msp_hiwater;
const char *msp_maps_path = "/proc/self/maps";

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread bool holding __attribute__((tls_model("initial-exec")));

bool msp_lock(void)
{
	if (holding)
		return false;
	pthread_mutex_lock(&table_lock);
	holding = true;
	return true;
}

void msp_unlock(void)
{
	holding = false;
	pthread_mutex_unlock(&table_lock);
}

void msp_lock_atfork_prepare(void)
{
	pthread_mutex_lock(&table_lock);
}

void msp_lock_atfork_parent(void)
{
	pthread_mutex_unlock(&table_lock);
}

void msp_lock_atfork_child(void)
{
	pthread_mutex_unlock(&table_lock);
}

static uintptr_t slot_start(unsigned int i)
{
	return __atomic_load_n(&msp_windows[i].start, __ATOMIC_ACQUIRE);
}

bool msp_window_hits(uintptr_t lo, uintptr_t hi)
{
	unsigned int i, n = __atomic_load_n(&msp_hiwater, __ATOMIC_ACQUIRE);

	for (i = 0; i < n; i++) {
		uintptr_t start = slot_start(i);

		if (start && start < hi &&
		    __atomic_load_n(&msp_windows[i].end, __ATOMIC_RELAXED) > lo)
			return true;
	}
	return false;
}

struct msp_window *msp_window_at(uintptr_t start)
{
	unsigned int i;

	for (i = 0; i < msp_hiwater; i++)
		if (msp_windows[i].start == start && start)
			return &msp_windows[i];
	return NULL;
}

struct msp_window *msp_window_next(uintptr_t lo, uintptr_t hi,
				   unsigned int *pos)
{
	unsigned int i;

	for (i = *pos; i < msp_hiwater; i++) {
		struct msp_window *w = &msp_windows[i];

		if (w->start && w->start < hi && w->end > lo) {
			*pos = i + 1;
			return w;
		}
	}
	*pos = i;
	return NULL;
}

int msp_window_add(const struct msp_window *w)
{
	unsigned int i;

	for (i = 0; i < MSP_MAX_WINDOWS; i++) {
		struct msp_window *s = &msp_windows[i];

		if (s->start)
			continue;
		/* Read without the lock by msp_window_hits(). */
		__atomic_store_n(&s->end, w->end, __ATOMIC_RELAXED);
		s->known_end = w->known_end;
		s->handle = w->handle;
		s->ino = w->ino;
		s->dev = w->dev;
		s->prot = w->prot;
		s->kind = w->kind;
		s->shmid = w->shmid;
		if (i >= msp_hiwater)
			__atomic_store_n(&msp_hiwater, i + 1, __ATOMIC_RELEASE);
		__atomic_store_n(&s->start, w->start, __ATOMIC_RELEASE);
		__atomic_add_fetch(&msp_nr_windows, 1, __ATOMIC_RELEASE);
		return 0;
	}
	return -1;
}

void msp_window_del(struct msp_window *w)
{
	__atomic_store_n(&w->start, 0, __ATOMIC_RELEASE);
	__atomic_sub_fetch(&msp_nr_windows, 1, __ATOMIC_RELEASE);
}

void msp_window_reset(void)
{
	memset(msp_windows, 0, sizeof(msp_windows));
	msp_nr_windows = 0;
	msp_hiwater = 0;
}

/* "START-END PERMS OFFSET MAJ:MIN INODE ..." */
static int maps_line(const char *line, uintptr_t *start, uintptr_t *end,
		     unsigned int *maj, unsigned int *min, uint64_t *ino)
{
	unsigned long long s, e, i;

	if (sscanf(line, "%llx-%llx %*s %*x %x:%x %llu", &s, &e, maj, min,
		   &i) != 5)
		return -1;
	*start = (uintptr_t)s;
	*end = (uintptr_t)e;
	*ino = i;
	return 0;
}

int msp_window_check(const struct msp_window *w)
{
	char buf[8192], line[1024];
	size_t ll = 0;
	ssize_t n;
	int fd, found = 0;

	fd = msp_sys_open(msp_maps_path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	while (!found && (n = msp_sys_read(fd, buf, sizeof(buf))) > 0) {
		ssize_t i;

		for (i = 0; i < n && !found; i++) {
			uintptr_t s, e;
			unsigned int maj, min;
			uint64_t ino;

			if (buf[i] != '\n') {
				if (ll + 1 < sizeof(line))
					line[ll++] = buf[i];
				continue;
			}
			line[ll] = '\0';
			ll = 0;
			if (maps_line(line, &s, &e, &maj, &min, &ino))
				continue;
			if (s != w->start)
				continue;
			found = e == w->end && ino == w->ino &&
				((uint64_t)maj << 32 | min) == w->dev ? 1 : 2;
		}
	}
	msp_sys_close(fd);
	return found == 1;
}

void msp_forget_replaced(uintptr_t lo, uintptr_t hi)
{
	struct msp_window *w;
	unsigned int pos = 0;

	while ((w = msp_window_next(lo, hi, &pos))) {
		if (w->start < lo || w->end > hi)
			continue;
		msp_log("window %#lx-%#lx replaced by a new mapping: forgotten",
			(unsigned long)w->start, (unsigned long)w->end);
		if (w->kind == MSP_SYSV && w->handle)
			msp_sys_shmdt((void *)w->handle);
		msp_window_del(w);
	}
}
