/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fake kernel for libmshare-preload's unit tests: it replaces sys.c
 * (every msp_sys_*()) with a model of what the library relies on:
 *  - an address space of mappings (anonymous, region windows, System V
 *    attachments) with the module's rules for windows: the length is the
 *    region's size, a window cannot be split (EINVAL), mprotect of a window
 *    is EINVAL, madvise that would split one is EINVAL;
 *  - a filesystem: an msharefs mount at FAKE_MNT (statfs magic, its
 *    mshare_info, regions made with O_TMPFILE or by name, directories,
 *    unlink, flock that never waits, getdents), /proc/self/mountinfo and
 *    /proc/self/maps generated from the model;
 *  - System V segments: keys, ids, IPC_CREAT/IPC_EXCL, sizes, modes (all
 *    callers are the owner), shm_nattch, IPC_RMID.
 * Every call is counted; any can be made to fail once with an errno.
 */
#ifndef LIBMSHARE_TEST_FAKE_PRELOAD_H
#define LIBMSHARE_TEST_FAKE_PRELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FAKE_MNT	"/fake/mshare"
#define FAKE_GRANULE	(2UL << 20)
#define FAKE_PAGE	4096UL

enum fp_call {
	FP_MMAP, FP_MUNMAP, FP_MREMAP, FP_MPROTECT, FP_MADVISE,
	FP_SHMGET, FP_SHMAT, FP_SHMDT, FP_SHMCTL,
	FP_OPEN, FP_CLOSE, FP_READ, FP_FTRUNCATE, FP_FSTAT, FP_FCHMOD,
	FP_CHMOD, FP_CHOWN, FP_STATFS, FP_UNLINK, FP_MKDIR, FP_RMDIR,
	FP_FLOCK, FP_GETDENTS,
	FP_NR,
};

enum fp_kind { FP_ANON = 1, FP_FILE, FP_REGION, FP_SHM };

struct fp_map {
	uintptr_t start, end;
	int prot;
	int kind;		/* enum fp_kind */
	int file;		/* FP_REGION: index of the file */
	int shm;		/* FP_SHM: index of the segment */
	bool shared;
};

/* Reset everything: no mapping, no file, no segment; mounted unless
 * fp_unmount(); the library's table, mount cache and config reset too. */
void fp_reset(void);
/* msharefs is not mounted (statfs of FAKE_MNT is tmpfs's). */
void fp_unmount(void);
/* The next call of @call fails with @err (after @skip successful ones). */
void fp_fail(enum fp_call call, unsigned int skip, int err);
unsigned int fp_calls(enum fp_call call);
/* The last arguments of some calls. */
struct fp_last {
	void *mmap_addr;
	size_t mmap_len;
	int mmap_prot, mmap_flags, mmap_fd;
	void *munmap_addr;
	size_t munmap_len;
	char open_path[256];
	int open_flags;
	off_t ftruncate_len;
	int shmget_flags;
	void *mprotect_addr;
	size_t mprotect_len;
};
extern struct fp_last fp_last;

/* The mapping containing @addr, or NULL. */
const struct fp_map *fp_map_at(uintptr_t addr);
unsigned int fp_nr_maps(void);
/* Files: whether @path exists, its size and mode (-1 if none). */
bool fp_exists(const char *path);
long long fp_size(const char *path);
int fp_mode(const char *path);
/* Regions alive (named or not, still referenced). */
unsigned int fp_regions(void);
/* Open descriptors (every one the library opened must be closed). */
unsigned int fp_open_fds(void);
/* Segment @id: its size, nattch, whether it exists and is marked. */
long long fp_shm_size(int id);
int fp_shm_nattch(int id);
bool fp_shm_exists(int id);
/* Remove segment @id behind the library's back (as ipcrm would). */
void fp_shm_remove(int id);
/* Map anything (a "program" mapping) at a fixed place. */
void *fp_map_anon(uintptr_t addr, size_t len);

#endif /* LIBMSHARE_TEST_FAKE_PRELOAD_H */
