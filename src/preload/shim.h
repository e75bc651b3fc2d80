/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libmshare-preload: unmodified programs share page tables.
 *
 * Loaded with LD_PRELOAD (or by `mshare run`), the library interposes the
 * calls that make and unmake shared memory and puts big shared memory in
 * msharefs regions (see libmshare-preload(8)):
 *  - anon.c: mmap(MAP_SHARED | MAP_ANONYMOUS) of at least MSHARE_MIN_SIZE
 *    becomes a region without a name (O_TMPFILE), attached; munmap,
 *    mremap, mprotect and madvise keep working on such windows;
 *  - sysv.c: shmget() of at least MSHARE_MIN_SIZE keeps a real System V
 *    segment as a handle (ids, keys, permissions, shm_nattch, IPC_RMID:
 *    the kernel's) and puts its memory in the region sysv/<shmid>;
 *  - interpose.c: the exported functions, the constructor, and dlopen(),
 *    which drops RTLD_DEEPBIND for the libraries of MSHARE_NODEEPBIND.
 * Calls that are not redirected cost a flag test (mmap, shmget) or an
 * atomic load (munmap, mprotect, madvise, mremap, shmdt while no window
 * exists); no allocation, no lock on those paths.  Everything that creates
 * or removes a window takes one lock (msp_lock), held across fork.
 *
 * The kernel is reached through the msp_sys_*() functions only (sys.c, by
 * syscall(2)); the unit tests link a fake of them instead.
 */
#ifndef MSHARE_PRELOAD_SHIM_H
#define MSHARE_PRELOAD_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stat;
struct statfs;
struct shmid_ds;

#define MSP_EXPORT	__attribute__((visibility("default")))
#define MSP_LIKELY(x)	__builtin_expect(!!(x), 1)
#define MSP_UNLIKELY(x)	__builtin_expect(!!(x), 0)
/* Keep slow paths out of the fast ones (no register saves there). */
#define MSP_SLOW	__attribute__((noinline, cold))

/* ---- configuration (config.c), from the environment, once ---- */

#define MSP_DEFAULT_MIN_SIZE	(32UL << 20)
#define MSP_DEFAULT_NODEEPBIND	"opcache.so:apcu.so"
#define MSP_PATH_MAX		4096
#define MSP_LIST_MAX		1024

struct msp_config {
	bool loaded;
	bool anon;		/* MSHARE_ANON */
	bool sysv;		/* MSHARE_SYSV */
	bool hugetlb;		/* MSHARE_HUGETLB */
	bool verbose;		/* MSHARE_VERBOSE */
	size_t min_size;	/* MSHARE_MIN_SIZE */
	char nodeepbind[MSP_LIST_MAX];	/* MSHARE_NODEEPBIND */
	char mount[MSP_PATH_MAX];	/* LIBMSHARE_MOUNT ("" : not set) */
};

/* The environment variables the library reads (and mshare run checks). */
struct msp_var {
	const char *name;
	const char *what;	/* for messages: "a size", "0 or 1"... */
};
extern const struct msp_var msp_vars[];
extern const size_t msp_nr_vars;

/*
 * Fill @cfg from @get (getenv, or a test's): the defaults, then every
 * variable that is set.  A value that does not parse keeps the default
 * and is passed to @bad (may be NULL).  Returns the number of bad values.
 */
int msp_config_load(struct msp_config *cfg, const char *(*get)(const char *),
		    void (*bad)(const char *name, const char *value,
				const char *what));
/* Sizes: digits, optionally K, M, G or T (powers of 1024, either case),
 * optionally followed by "iB".  0, -EINVAL or -ERANGE. */
int msp_parse_size(const char *text, size_t *size);
/* 0/1, no/yes, off/on, false/true (any case).  0 or -EINVAL. */
int msp_parse_bool(const char *text, bool *val);
/*
 * Whether @path matches @list: names separated by ':' or ',' or blanks,
 * each compared with the last component of @path; "*" matches anything;
 * a name ending in '*' matches that prefix.
 */
bool msp_list_match(const char *list, const char *path);

extern struct msp_config msp_cfg;
/* Load msp_cfg from the environment unless done (thread-safe). */
void msp_config_ensure(void);

/* ---- logging (log.c): MSHARE_VERBOSE ---- */

void msp_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the kernel (sys.c; faked by the unit tests) ---- */

void *msp_sys_mmap(void *addr, size_t len, int prot, int flags, int fd,
		   off_t off);
int msp_sys_munmap(void *addr, size_t len);
void *msp_sys_mremap(void *old, size_t old_len, size_t new_len, int flags,
		     void *new_addr);
int msp_sys_mprotect(void *addr, size_t len, int prot);
int msp_sys_madvise(void *addr, size_t len, int advice);
int msp_sys_shmget(key_t key, size_t size, int flags);
void *msp_sys_shmat(int id, const void *addr, int flags);
int msp_sys_shmdt(const void *addr);
int msp_sys_shmctl(int id, int cmd, struct shmid_ds *buf);
int msp_sys_open(const char *path, int flags, mode_t mode);
int msp_sys_close(int fd);
int msp_sys_ioctl(int fd, unsigned long cmd, void *arg);
ssize_t msp_sys_read(int fd, void *buf, size_t len);
int msp_sys_ftruncate(int fd, off_t len);
int msp_sys_fstat(int fd, struct stat *st);
int msp_sys_fchmod(int fd, mode_t mode);
int msp_sys_chmod(const char *path, mode_t mode);
int msp_sys_chown(const char *path, uid_t uid, gid_t gid);
int msp_sys_statfs(const char *path, struct statfs *st);
int msp_sys_unlink(const char *path);
int msp_sys_mkdir(const char *path, mode_t mode);
int msp_sys_rmdir(const char *path);
int msp_sys_flock(int fd, int op);
ssize_t msp_sys_getdents(int fd, void *buf, size_t len);
long msp_sys_page_size(void);

/* ---- the msharefs mount (mount.c) ---- */

/* The mount to use, or NULL (errno ENODEV); resolved again while none. */
const char *msp_mount(void);
/* Its granule (cached), or 0. */
size_t msp_granule(void);
/* Forget what was resolved (tests; fork children keep it). */
void msp_mount_reset(void);
/* Parse one line of /proc/self/mountinfo: the mount point (unescaped) of
 * an msharefs line into @mnt; 0, or -1 if not msharefs or malformed. */
int msp_mountinfo_line(const char *line, char *mnt, size_t len);

/* ---- windows (table.c) ---- */

enum msp_kind {
	MSP_ANON = 1,		/* a redirected mmap(MAP_SHARED | MAP_ANONYMOUS) */
	MSP_SYSV = 2,		/* a redirected shmat() */
};

struct msp_window {
	uintptr_t start;	/* 0: free slot (atomic) */
	uintptr_t end;		/* start + region size */
	uintptr_t known_end;	/* start + the page-rounded length asked for */
	uintptr_t handle;	/* MSP_SYSV: the one-page handle attachment */
	uint64_t ino;		/* the region's inode */
	uint64_t dev;		/* and device: major << 32 | minor */
	int prot;
	int kind;
	int shmid;		/* MSP_SYSV */
};

#define MSP_MAX_WINDOWS	256

extern struct msp_window msp_windows[MSP_MAX_WINDOWS];
extern unsigned int msp_nr_windows;	/* atomic */
extern unsigned int msp_hiwater;	/* atomic: slots in use are below */

static inline bool msp_no_windows(void)
{
	return !__atomic_load_n(&msp_nr_windows, __ATOMIC_ACQUIRE);
}

/* Lock-free: does any window intersect [@lo, @hi)? */
bool msp_window_hits(uintptr_t lo, uintptr_t hi);
/* Under msp_lock: the window starting at @start, or NULL. */
struct msp_window *msp_window_at(uintptr_t start);
/* Under msp_lock: the first window intersecting [@lo, @hi) at or after
 * slot *@pos (advanced past it), or NULL. */
struct msp_window *msp_window_next(uintptr_t lo, uintptr_t hi,
				   unsigned int *pos);
/* Under msp_lock: record @w; -1 when the table is full. */
int msp_window_add(const struct msp_window *w);
/* Under msp_lock: forget @w. */
void msp_window_del(struct msp_window *w);
/* Under msp_lock: forget every window (tests). */
void msp_window_reset(void);
/*
 * Under msp_lock: whether /proc/self/maps still shows @w as one mapping
 * of its region.  -1 if the maps could not be read (then trust the table).
 */
int msp_window_check(const struct msp_window *w);
/* The process's maps file (tests point it elsewhere). */
extern const char *msp_maps_path;

/*
 * The lock around every change of the table and the windows.  Returns
 * false (nothing locked) if this thread already holds it: a call made
 * while the library works (a signal handler) is passed to the kernel.
 */
bool msp_lock(void);
void msp_unlock(void);
void msp_lock_atfork_prepare(void);
void msp_lock_atfork_parent(void);
void msp_lock_atfork_child(void);

/*
 * Windows fully inside [@lo, @hi) that a successful MAP_FIXED, mremap
 * MREMAP_FIXED or shmat SHM_REMAP just replaced: forget them (and detach
 * their handles).  Under msp_lock.
 */
void msp_forget_replaced(uintptr_t lo, uintptr_t hi);

/* ---- anonymous shared memory (anon.c) ---- */

void *msp_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int msp_munmap(void *addr, size_t len);
void *msp_mremap(void *old, size_t old_len, size_t new_len, int flags,
		 void *new_addr);
int msp_mprotect(void *addr, size_t len, int prot);
int msp_madvise(void *addr, size_t len, int advice);
int msp_posix_madvise(void *addr, size_t len, int advice);

/* Why an mmap() is or is not redirected (msp_anon_decide()). */
enum msp_why {
	MSP_REDIRECT = 0,
	MSP_NOT_SHARED_ANON,	/* not MAP_SHARED | MAP_ANONYMOUS */
	MSP_TOO_SMALL,		/* below MSHARE_MIN_SIZE */
	MSP_DISABLED,		/* MSHARE_ANON=0 */
	MSP_HUGETLB,		/* MAP_HUGETLB without MSHARE_HUGETLB=1 */
	MSP_PROT,		/* PROT_NONE, or bits beyond read/write/exec */
	MSP_FLAGS,		/* a flag a window cannot honour */
	MSP_FIXED,		/* MAP_FIXED at an address or length off the granule */
};
enum msp_why msp_anon_decide(const struct msp_config *cfg, const void *addr,
			     size_t len, int prot, int flags, size_t granule);
const char *msp_why_text(enum msp_why why);

/* ---- System V shared memory (sysv.c) ---- */

int msp_shmget(key_t key, size_t size, int flags);
void *msp_shmat(int id, const void *addr, int flags);
int msp_shmdt(const void *addr);
int msp_shmctl(int id, int cmd, struct shmid_ds *buf);

/* Round @n up to a multiple of @to (a power of two); 0 on overflow. */
static inline size_t msp_round_up(size_t n, size_t to)
{
	if (n > SIZE_MAX - (to - 1))
		return 0;
	return (n + to - 1) & ~(to - 1);
}

#endif /* MSHARE_PRELOAD_SHIM_H */
