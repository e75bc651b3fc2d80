// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare-pl: an unmodified program for the live tests of libmshare-preload.
 * It knows nothing of msharefs: libc only, no libmshare.  It runs the
 * commands of its arguments in order, one answer line each on stdout,
 * and exits 0, or 1 if a check failed.  The tests run it with LD_PRELOAD
 * (or mshare run) and look at its answers and at the module.
 *
 *   mmap SIZE           shared anonymous, read/write: "mmap ADDR KIND"
 *   munmap [LEN]        of the current mapping (LEN: its size): "munmap RC ERRNO"
 *   mprotect rw|r|rx [OFF LEN]               "mprotect RC ERRNO"
 *   madvise ADVICE OFF LEN                   "madvise RC ERRNO"
 *   fill SEED / verify SEED                  "verify ok" | "verify bad OFF"
 *   forkverify N SEED   N children verify, each writes its byte at page i
 *   kind                the current mapping in /proc/self/maps: "kind KIND"
 *   shmget KEY SIZE FLAGS   FLAGS: c (IPC_CREAT), x (IPC_EXCL), octal mode
 *   shmat [r] / shmdt / shmstat / shmrmid     on the last segment
 *   write OFF VAL / read OFF                 "write ok|segv", "read VAL|segv"
 *   pause               "paused", then wait for a line on stdin
 *   vm                  "vm VMPTE_KB MINFLT"
 *   threads N ITER SIZE threads racing mmap/munmap: "threads ok" | "threads bad"
 *   dlopen LIB deep|nodeep SIZE   map through LIB's pl_map(): "dlopen ADDR KIND"
 *   exec CMD...         exec ourselves with the remaining commands
 *   execclean CMD...    the same with an empty environment
 *   unsetenv NAME       (for the next exec)
 *   exit N
 * KIND: msharefs (a file of /sys/fs/mshare), shmem (/dev/zero, SYSV...:
 * ordinary shared memory), none, or other.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static char *cur;		/* the current mapping */
static size_t cur_len;
static int shmid = -1;
static int failed;
static char *self;

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'K': case 'k':
		v <<= 10;
		break;
	case 'M': case 'm':
		v <<= 20;
		break;
	case 'G': case 'g':
		v <<= 30;
		break;
	}
	return (size_t)v;
}

static const char *kind_of(const void *addr)
{
	static char kind[32];
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");

	strcpy(kind, "none");
	if (!f)
		return "error";
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char *path;

		if (sscanf(line, "%lx-%lx", &s, &e) != 2 ||
		    (uintptr_t)addr < s || (uintptr_t)addr >= e)
			continue;
		path = strchr(line, '/');
		if (path && !strncmp(path, "/sys/fs/mshare/", 15))
			strcpy(kind, "msharefs");
		else if (path && (!strncmp(path, "/dev/zero", 9) ||
				  !strncmp(path, "/SYSV", 5)))
			strcpy(kind, "shmem");
		else
			strcpy(kind, "other");
		break;
	}
	fclose(f);
	return kind;
}

static uint64_t pattern(uint64_t seed, size_t i)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + i;

	x ^= x >> 31;
	return x * 0xbf58476d1ce4e5b9ULL;
}

static void fill(uint64_t seed)
{
	size_t i;

	for (i = 0; i < cur_len / 8; i += 512)	/* one word per page */
		((uint64_t *)cur)[i] = pattern(seed, i);
}

static long verify(uint64_t seed)
{
	size_t i;

	for (i = 0; i < cur_len / 8; i += 512)
		if (((uint64_t *)cur)[i] != pattern(seed, i))
			return (long)(i * 8);
	return -1;
}

static sigjmp_buf probe_env;

static void on_segv(int sig)
{
	siglongjmp(probe_env, sig);
}

/* 0 or the signal the access raised. */
static int probe(volatile char *p, int write, int val, int *out)
{
	struct sigaction sa = { .sa_handler = on_segv }, old_segv, old_bus;
	int sig;

	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	sig = sigsetjmp(probe_env, 1);
	if (!sig) {
		if (write)
			*p = (char)val;
		else
			*out = (unsigned char)*p;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return sig;
}

static int prot_of(const char *s)
{
	if (!strcmp(s, "r"))
		return PROT_READ;
	if (!strcmp(s, "rx"))
		return PROT_READ | PROT_EXEC;
	return PROT_READ | PROT_WRITE;
}

struct race {
	size_t size;
	int iter;
	int bad;
};

static void *racer(void *arg)
{
	struct race *r = arg;
	int i;

	for (i = 0; i < r->iter; i++) {
		char *p = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		char *q = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED || q == MAP_FAILED) {
			__atomic_add_fetch(&r->bad, 1, __ATOMIC_RELAXED);
			continue;
		}
		p[0] = (char)i;
		p[r->size - 1] = (char)i;
		q[0] = 1;
		if (p[0] != (char)i || mprotect(p, r->size, PROT_READ | PROT_WRITE))
			__atomic_add_fetch(&r->bad, 1, __ATOMIC_RELAXED);
		if (munmap(q, 65536) || munmap(p, r->size))
			__atomic_add_fetch(&r->bad, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void status_line(void)
{
	char line[256];
	long pte = -1, flt = -1;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "VmPTE: %ld", &pte);
	if (f)
		fclose(f);
	f = fopen("/proc/self/stat", "re");
	if (f) {
		if (fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %ld", &flt) != 1)
			flt = -1;
		fclose(f);
	}
	printf("vm %ld %ld\n", pte, flt);
}

/* Run the commands argv[i..]; returns where an exec consumed the rest. */
static void run(int argc, char **argv)
{
	int i = 0;

	while (i < argc) {
		const char *c = argv[i++];
		int rc, e, val = 0;

#define ARG(n)	(i + (n) < argc ? argv[i + (n)] : "0")
		if (!strcmp(c, "mmap")) {
			cur_len = parse_size(ARG(0));
			i++;
			cur = mmap(NULL, cur_len, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
			if (cur == MAP_FAILED) {
				printf("mmap failed %d\n", errno);
				failed = 1;
				cur = NULL;
			} else {
				printf("mmap %p %s\n", (void *)cur, kind_of(cur));
			}
		} else if (!strcmp(c, "munmap")) {
			size_t len = cur_len;

			if (i < argc && argv[i][0] >= '0' && argv[i][0] <= '9')
				len = parse_size(argv[i++]);
			errno = 0;
			rc = munmap(cur, len);
			printf("munmap %d %d\n", rc, rc ? errno : 0);
			if (!rc)
				printf("kind %s\n", kind_of(cur));
		} else if (!strcmp(c, "mprotect")) {
			int prot = prot_of(ARG(0));
			size_t off = 0, len = cur_len;

			i++;
			if (i + 1 < argc && argv[i][0] >= '0' && argv[i][0] <= '9') {
				off = parse_size(argv[i]);
				len = parse_size(argv[i + 1]);
				i += 2;
			}
			rc = mprotect(cur + off, len, prot);
			printf("mprotect %d %d\n", rc, rc ? errno : 0);
		} else if (!strcmp(c, "madvise")) {
			int adv = atoi(ARG(0));
			size_t off = parse_size(ARG(1)), len = parse_size(ARG(2));

			i += 3;
			rc = madvise(cur + off, len, adv);
			printf("madvise %d %d\n", rc, rc ? errno : 0);
		} else if (!strcmp(c, "fill")) {
			fill(strtoull(ARG(0), NULL, 0));
			i++;
			printf("fill ok\n");
		} else if (!strcmp(c, "verify")) {
			long off = verify(strtoull(ARG(0), NULL, 0));

			i++;
			if (off < 0) {
				printf("verify ok\n");
			} else {
				printf("verify bad %ld\n", off);
				failed = 1;
			}
		} else if (!strcmp(c, "forkverify")) {
			int n = atoi(ARG(0)), k, bad = 0;
			uint64_t seed = strtoull(ARG(1), NULL, 0);
			pid_t pids[64];

			i += 2;
			fflush(stdout);
			for (k = 0; k < n && k < 64; k++) {
				pids[k] = fork();
				if (pids[k] == 0) {
					if (verify(seed) >= 0 ||
					    strcmp(kind_of(cur), "msharefs"))
						_exit(1);
					cur[(size_t)(k + 1) * 4096 + 8] = (char)(k + 1);
					_exit(0);
				}
			}
			for (k = 0; k < n && k < 64; k++) {
				int st;

				waitpid(pids[k], &st, 0);
				bad |= !WIFEXITED(st) || WEXITSTATUS(st) ||
				       cur[(size_t)(k + 1) * 4096 + 8] != (char)(k + 1);
			}
			printf("forkverify %s\n", bad ? "bad" : "ok");
			failed |= bad;
		} else if (!strcmp(c, "kind")) {
			printf("kind %s\n", kind_of(cur));
		} else if (!strcmp(c, "shmget")) {
			key_t key = (key_t)strtol(ARG(0), NULL, 0);
			size_t size = parse_size(ARG(1));
			const char *f = ARG(2);
			int flags = 0;

			i += 3;
			for (; *f; f++) {
				if (*f == 'c')
					flags |= IPC_CREAT;
				else if (*f == 'x')
					flags |= IPC_EXCL;
				else
					break;
			}
			flags |= (int)strtol(f, NULL, 8);
			shmid = shmget(key, size, flags);
			if (shmid < 0)
				printf("shmget err %d\n", errno);
			else
				printf("shmget %d\n", shmid);
		} else if (!strcmp(c, "shmid")) {
			shmid = atoi(ARG(0));
			i++;
		} else if (!strcmp(c, "shmat")) {
			int flags = 0;
			struct shmid_ds ds;
			void *p;

			if (i < argc && !strcmp(argv[i], "r")) {
				flags = SHM_RDONLY;
				i++;
			}
			p = shmat(shmid, NULL, flags);
			if (p == (void *)-1) {
				printf("shmat err %d\n", errno);
			} else {
				cur = p;
				cur_len = shmctl(shmid, IPC_STAT, &ds) ? 0 : ds.shm_segsz;
				printf("shmat %p %s\n", p, kind_of(p));
			}
		} else if (!strcmp(c, "shmdt")) {
			rc = shmdt(cur);
			printf("shmdt %d %d\n", rc, rc ? errno : 0);
		} else if (!strcmp(c, "shmstat")) {
			struct shmid_ds ds;

			if (shmctl(shmid, IPC_STAT, &ds))
				printf("shmstat err %d\n", errno);
			else
				printf("shmstat %zu %lu %d\n", (size_t)ds.shm_segsz,
				       (unsigned long)ds.shm_nattch,
				       !!(ds.shm_perm.mode & SHM_DEST));
		} else if (!strcmp(c, "shmrmid")) {
			rc = shmctl(shmid, IPC_RMID, NULL);
			printf("shmrmid %d %d\n", rc, rc ? errno : 0);
		} else if (!strcmp(c, "write") || !strcmp(c, "read")) {
			size_t off = parse_size(ARG(0));
			int w = c[0] == 'w';

			if (w)
				val = atoi(ARG(1));
			i += w ? 2 : 1;
			rc = probe(cur + off, w, val, &val);
			if (rc)
				printf("%s segv\n", c);
			else if (w)
				printf("write ok\n");
			else
				printf("read %d\n", val);
		} else if (!strcmp(c, "pause")) {
			char line[64];

			printf("paused\n");
			fflush(stdout);
			if (!fgets(line, sizeof(line), stdin))
				exit(2);
		} else if (!strcmp(c, "vm")) {
			status_line();
		} else if (!strcmp(c, "threads")) {
			int n = atoi(ARG(0)), k;
			struct race r = { .iter = atoi(ARG(1)),
					  .size = parse_size(ARG(2)) };
			pthread_t t[32];

			i += 3;
			for (k = 0; k < n && k < 32; k++)
				pthread_create(&t[k], NULL, racer, &r);
			for (k = 0; k < n && k < 32; k++)
				pthread_join(t[k], NULL);
			printf("threads %s %d\n", r.bad ? "bad" : "ok", r.bad);
			failed |= r.bad != 0;
		} else if (!strcmp(c, "dlopen")) {
			int deep = !strcmp(ARG(1), "deep");
			void *(*map)(size_t);
			void *h;

			h = dlopen(ARG(0), RTLD_NOW | (deep ? RTLD_DEEPBIND : 0));
			cur_len = parse_size(ARG(2));
			i += 3;
			map = h ? (void *(*)(size_t))dlsym(h, "pl_map") : NULL;
			cur = map ? map(cur_len) : MAP_FAILED;
			if (cur == MAP_FAILED) {
				printf("dlopen failed %s\n", h ? "map" : dlerror());
				failed = 1;
			} else {
				printf("dlopen %p %s\n", (void *)cur, kind_of(cur));
			}
		} else if (!strcmp(c, "unsetenv")) {
			unsetenv(ARG(0));
			i++;
		} else if (!strcmp(c, "exec") || !strcmp(c, "execclean")) {
			char *env[] = { "PATH=/bin:/usr/bin", NULL };
			char **nargv = calloc((size_t)(argc - i + 2), sizeof(char *));

			nargv[0] = self;
			memcpy(nargv + 1, argv + i, (size_t)(argc - i) * sizeof(char *));
			fflush(stdout);
			if (c[4] == 'c')
				execve(self, nargv, env);
			else
				execv(self, nargv);
			printf("exec failed %d\n", errno);
			exit(1);
		} else if (!strcmp(c, "exit")) {
			fflush(stdout);
			exit(atoi(ARG(0)));
		} else {
			printf("unknown command %s\n", c);
			exit(2);
		}
		fflush(stdout);
		(void)e;
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	static char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = '\0';
	self = n > 0 ? exe : argv[0];
	run(argc - 1, argv + 1);
	return failed;
}
