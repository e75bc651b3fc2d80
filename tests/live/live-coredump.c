// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-coredump: a core dump reads a window through the dumping process's
 * page tables (get_dump_page).  With core_pattern /tmp/core.%p and
 * RLIMIT_CORE unlimited, a child kills itself with SIGSEGV and its core
 * must hold the window's bytes in the PT_LOAD segment at the window's
 * address, when:
 * - the window is linked in the child (it touched it);
 * - the window was inherited and never touched (the dump faults it in);
 * - the window is read-only (O_RDONLY fd: dumped as a private file mapping);
 * - the region is unlinked (dumped as shared anonymous memory, default
 *   coredump_filter);
 * and must not hold them when coredump_filter excludes shared file
 * mappings.  Another attacher and the test keep their data throughout.
 * core_pattern is restored at the end.
 */
#include "agent.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SZ		(8 * MIB)
#define RW		(PROT_READ | PROT_WRITE)
#define PATTERN_FILE	"/proc/sys/kernel/core_pattern"

static char saved_pattern[256];

static void restore_pattern(void)
{
	if (saved_pattern[0])
		proc_write(PATTERN_FILE, saved_pattern);
}

struct dumper {
	char *w;		/* the window to dump */
	bool touch;		/* touch it first */
	const char *filter;	/* /proc/self/coredump_filter, NULL: default */
};

static int dump_child(void *arg)
{
	struct dumper *d = arg;
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	unsigned long sum = 0;

	if (setrlimit(RLIMIT_CORE, &rl))
		return 2;
	if (d->filter && proc_write("/proc/self/coredump_filter", d->filter))
		return 3;
	if (d->touch)
		for (size_t o = 0; o < SZ; o += 4096)
			sum += (unsigned char)d->w[o];
	(void)sum;
	signal(SIGSEGV, SIG_DFL);
	kill(getpid(), SIGSEGV);
	return 5;
}

/* The core of pid: the PT_LOAD segment at addr; returns its file size. */
static long core_segment(pid_t pid, const void *addr, uint64_t seed, bool want_data)
{
	char path[64];
	struct stat st;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	char *core;
	long filesz = -1;
	int cfd;

	snprintf(path, sizeof(path), "/tmp/core.%d", (int)pid);
	cfd = open(path, O_RDONLY | O_CLOEXEC);
	CHECKF(cfd >= 0, "no core file %s", path);
	CHECK(fstat(cfd, &st) == 0 && st.st_size > (off_t)sizeof(*eh));
	core = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, cfd, 0);
	CHECK(core != MAP_FAILED);
	eh = (Elf64_Ehdr *)core;
	CHECKF(!memcmp(eh->e_ident, ELFMAG, SELFMAG) && eh->e_type == ET_CORE,
	       "%s is not an ELF core", path);
	ph = (Elf64_Phdr *)(core + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_vaddr != (uintptr_t)addr)
			continue;
		CHECKF(ph[i].p_memsz == SZ, "segment at %p: p_memsz %lu", addr,
		       (unsigned long)ph[i].p_memsz);
		filesz = (long)ph[i].p_filesz;
		if (want_data) {
			long off;

			CHECKF(ph[i].p_filesz == SZ, "segment at %p: p_filesz %lu, want the window",
			       addr, (unsigned long)ph[i].p_filesz);
			CHECK(ph[i].p_offset + SZ <= (uint64_t)st.st_size);
			off = verify_pattern(core + ph[i].p_offset, SZ, seed);
			CHECKF(off == -1, "core %s: the window's bytes differ at %ld", path, off);
		}
	}
	CHECKF(filesz >= 0, "core %s has no segment at the window %p", path, addr);
	munmap(core, (size_t)st.st_size);
	close(cfd);
	unlink(path);
	return filesz;
}

static pid_t dump(struct dumper *d)
{
	pid_t pid = spawn(dump_child, d);
	int st;

	CHECK(waitpid(pid, &st, 0) == pid);
	CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV && WCOREDUMP(st),
	       "the child did not dump core (status %#x)", st);
	return pid;
}

int main(void)
{
	struct agent o;
	struct dumper d;
	const char *old;
	char *w, *w2;
	pid_t pid;
	int fd, fd2, rofd;

	live_init("live-coredump");
	old = proc_read(PATTERN_FILE);
	CHECK(old != NULL);
	snprintf(saved_pattern, sizeof(saved_pattern), "%s", old);
	live_atexit(restore_pattern);
	CHECK(proc_write(PATTERN_FILE, "/tmp/core.%p") == 0);

	fd = raw_create("dump", SZ);
	w = raw_attach(fd, SZ, RW);
	fill_pattern(w, SZ, 11);
	agent_exec(&o, "O(exec,rw)");
	AGENT(&o, "open dump rw");
	AGENT(&o, "attach rw");
	AGENT(&o, "touch r");

	/* linked in the child; filter with shared file mappings */
	d = (struct dumper){ .w = w, .touch = true, .filter = "0x3f" };
	klog_mark("core dump of a linked window");
	pid = dump(&d);
	core_segment(pid, w, 11, true);
	CHECK(reply_num(AGENT(&o, "verify 11"), 0) == 0);

	/* inherited, never touched: the dump faults it in */
	fill_pattern(w, SZ, 12);
	d.touch = false;
	klog_mark("core dump of an untouched window");
	pid = dump(&d);
	core_segment(pid, w, 12, true);
	CHECK(reply_num(AGENT(&o, "verify 12"), 0) == 0);

	/* shared file mappings filtered out: the segment is empty */
	d.filter = "0x33";
	d.touch = true;
	pid = dump(&d);
	CHECKF(core_segment(pid, w, 12, false) == 0,
	       "coredump_filter 0x33 (no shared file mappings) still dumped the window");

	/* a read-only window (O_RDONLY fd): a private file mapping to the dumper */
	rofd = EXPECT_OK(open(mpath("dump"), O_RDONLY | O_CLOEXEC));
	w2 = mmap(NULL, SZ, PROT_READ, MAP_SHARED, rofd, 0);
	CHECK(w2 != MAP_FAILED);
	d = (struct dumper){ .w = w2, .touch = true, .filter = "0x3f" };
	klog_mark("core dump of a read-only window");
	pid = dump(&d);
	core_segment(pid, w2, 12, true);
	CHECK(munmap(w2, SZ) == 0);
	close(rofd);

	/* an unlinked region: shared anonymous memory to the default filter */
	fd2 = raw_create("dump-unlinked", SZ);
	w2 = raw_attach(fd2, SZ, RW);
	fill_pattern(w2, SZ, 13);
	CHECK(unlink(mpath("dump-unlinked")) == 0);
	d = (struct dumper){ .w = w2, .touch = false, .filter = NULL };
	klog_mark("core dump of an unlinked region's window");
	pid = dump(&d);
	core_segment(pid, w2, 13, true);
	CHECK(verify_pattern(w2, SZ, 13) == -1);
	CHECK(munmap(w2, SZ) == 0);
	close(fd2);

	CHECK(verify_pattern(w, SZ, 12) == -1);
	fill_pattern(w, SZ, 14);
	CHECK(reply_num(AGENT(&o, "verify 14"), 0) == 0);
	agent_stop(&o);
	CHECK(munmap(w, SZ) == 0);
	close(fd);
	CHECK(unlink(mpath("dump")) == 0);
	restore_pattern();
	live_done();
}
