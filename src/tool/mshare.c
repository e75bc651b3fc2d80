// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mshare: see what is shared.  Lists the regions of the msharefs mount
 * with what their shared page tables save, shows the mount's totals and
 * one region's figures, creates and removes regions; the ipcs(1) and
 * ipcrm(1) of msharefs.  See mshare(8).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmshare.h>
#include <linux/msharefs.h>

#include "cli.h"
#include "shim.h"

#ifndef MSHARE_VERSION
#define MSHARE_VERSION	"unknown"
#endif
#ifndef MSHARE_PRELOAD_PATH
#define MSHARE_PRELOAD_PATH	"/usr/local/lib/libmshare-preload.so"
#endif
#ifndef MSHARE_PRELOAD_RELPATH
#define MSHARE_PRELOAD_RELPATH	""
#endif
/* Where `mshare run` looks first for the library (tests, other installs). */
#define PRELOAD_LIB_ENV	"MSHARE_PRELOAD_LIB"

/* Exit status: see mshare(8). */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2
/* mshare run: its own failures, and the command's, as env(1) has them. */
#define EXIT_RUN_FAIL	125
#define EXIT_CANNOT_RUN	126
#define EXIT_NOT_FOUND	127

static const char *command;	/* the subcommand, for messages */

static const char usage_text[] =
"Usage: mshare COMMAND [OPTION]... [ARGUMENT]...\n"
"Show and manage the shared memory regions of msharefs.\n"
"\n"
"Commands:\n"
"  ls [--json] [--bytes]            list the regions and what they save\n"
"  info [--json] [--bytes]          the mount: granule, module version, totals\n"
"  stat [--json] [--bytes] NAME     every figure of one region\n"
"  create [--mode MODE] NAME SIZE   create a region of SIZE bytes (suffixes\n"
"                                   K, M, G, T; a multiple of the granule);\n"
"                                   MODE in octal, default 0600\n"
"  rm NAME...                       remove regions\n"
"  run [OPTION]... [--] COMMAND [ARG]...\n"
"                                   run COMMAND with libmshare-preload.so:\n"
"                                   its big shared memory in regions\n"
"\n"
"Options:\n"
"  -j, --json      JSON output (sizes in bytes)\n"
"  -b, --bytes     sizes in bytes instead of 2.0M, 1.5G...\n"
"  -m, --mode=MODE permissions of a new region (create)\n"
"Options of run (see mshare(8), libmshare-preload(8)):\n"
"  --min-size=SIZE  redirect shared memory of at least SIZE (32M)\n"
"  --no-anon        leave mmap(MAP_SHARED | MAP_ANONYMOUS) alone\n"
"  --no-sysv        leave new System V segments alone\n"
"  --hugetlb        redirect MAP_HUGETLB and SHM_HUGETLB requests too\n"
"  --nodeepbind=LIST  drop RTLD_DEEPBIND for these libraries\n"
"  --library=PATH   the libmshare-preload.so to load\n"
"  -v, --verbose    one line per decision on standard error\n"
"  -q, --quiet      no warning when msharefs is not mounted\n"
"  -h, --help      show this help and exit\n"
"  -V, --version   show the version and exit\n"
"\n"
"NAME is relative to the msharefs mount (LIBMSHARE_MOUNT, else the one\n"
"mounted, /sys/fs/mshare).\n"
"Exit status: 0 success, 1 failure, 2 wrong command line; run: the\n"
"command's, or 125 (run failed), 126 (cannot execute), 127 (not found).\n";

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("mshare: ", stderr);
	if (command)
		fprintf(stderr, "%s: ", command);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("mshare: ", stderr);
	if (command)
		fprintf(stderr, "%s: ", command);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'mshare --help' for more information.\n", stderr);
	return EXIT_USAGE;
}

/* The message for the library's errno @err about region @name. */
static int fail_errno(const char *name, int err)
{
	const char *env;

	switch (err) {
	case ENODEV:
		env = getenv(LIBMSHARE_MOUNT_ENV);
		if (env)
			msg("%s=%s is not an msharefs mount",
			    LIBMSHARE_MOUNT_ENV, env);
		else
			msg("no msharefs mount found (load the msharefs module, then mount -t msharefs none %s)",
			    MSHAREFS_MOUNT_POINT);
		return EXIT_FAIL;
	case EINVAL:
	case ENAMETOOLONG:
		if (name) {
			msg("'%s': invalid region name", name);
			return EXIT_USAGE;
		}
		break;
	case ENOTTY:
		msg("%s%sthe msharefs module does not report statistics (it is too old)",
		    name ? name : "", name ? ": " : "");
		return EXIT_FAIL;
	}
	if (name)
		msg("%s: %s", name, strerror(err));
	else
		msg("%s", strerror(err));
	return EXIT_FAIL;
}

/* ---- output: key/value text, or JSON objects ---- */

enum format { TEXT, JSON, JSON_INLINE };

struct emit {
	enum format format;
	bool bytes;	/* exact bytes in TEXT */
	bool first;
};

static void emit_begin(struct emit *e)
{
	e->first = true;
	if (e->format != TEXT)
		putchar('{');
}

static void emit_end(struct emit *e)
{
	if (e->format == JSON)
		fputs("\n}\n", stdout);
	else if (e->format == JSON_INLINE)
		putchar('}');
}

static void emit_key(struct emit *e, const char *key)
{
	char label[32];

	if (e->format == TEXT) {
		snprintf(label, sizeof(label), "%s:", key);
		printf("%-16s", label);
		return;
	}
	if (e->format == JSON)
		fputs(e->first ? "\n  " : ",\n  ", stdout);
	else if (!e->first)
		fputs(", ", stdout);
	e->first = false;
	cli_json_string(stdout, key);
	fputs(": ", stdout);
}

static void emit_done(struct emit *e)
{
	if (e->format == TEXT)
		putchar('\n');
}

/* A string, or NULL: unavailable ("-" / null). */
static void emit_str(struct emit *e, const char *key, const char *val)
{
	emit_key(e, key);
	if (e->format != TEXT) {
		if (val)
			cli_json_string(stdout, val);
		else
			fputs("null", stdout);
	} else if (val) {
		char *copy = strdup(val);

		if (copy) {
			cli_printable(copy);
			fputs(copy, stdout);
			free(copy);
		}
	} else {
		putchar('-');
	}
	emit_done(e);
}

static void emit_u64(struct emit *e, const char *key, const uint64_t *val)
{
	emit_key(e, key);
	if (val)
		printf("%" PRIu64, *val);
	else
		fputs(e->format == TEXT ? "-" : "null", stdout);
	emit_done(e);
}

static void emit_bytes(struct emit *e, const char *key, const uint64_t *val)
{
	char buf[CLI_HUMAN_MAX];

	if (!val || e->format != TEXT || e->bytes) {
		emit_u64(e, key, val);
		return;
	}
	emit_key(e, key);
	fputs(cli_human(*val, buf, sizeof(buf)), stdout);
	emit_done(e);
}

static void emit_sbytes(struct emit *e, const char *key, const int64_t *val)
{
	char buf[CLI_HUMAN_MAX];

	emit_key(e, key);
	if (!val)
		fputs(e->format == TEXT ? "-" : "null", stdout);
	else if (e->format != TEXT || e->bytes)
		printf("%" PRId64, *val);
	else
		fputs(cli_human_signed(*val, buf, sizeof(buf)), stdout);
	emit_done(e);
}

/* Flush stdout; a write error (a full disk, a closed pipe) is a failure. */
static int finish(int status)
{
	if (fflush(stdout) || ferror(stdout)) {
		msg("write error: %s", strerror(errno));
		return EXIT_FAIL;
	}
	return status;
}

/* ---- regions ---- */

struct region {
	char *name;		/* relative to the mount; "(unlinked #INO)" */
	bool unlinked;		/* no name (MSHAREFS_LIST_REGIONS) */
	uint64_t ino;
	uint64_t size;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	bool have;		/* st is valid */
	int err;		/* why not */
	struct mshare_stat st;
};

static const char *user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (!pw)
		return NULL;
	snprintf(buf, len, "%s", pw->pw_name);
	return buf;
}

static const char *group_name(gid_t gid, char *buf, size_t len)
{
	struct group *gr = getgrgid(gid);

	if (!gr)
		return NULL;
	snprintf(buf, len, "%s", gr->gr_name);
	return buf;
}

/* name, size, mode, owner, then the figures (ls --json, stat). */
static void emit_region(struct emit *e, const struct region *r)
{
	const struct mshare_stat *st = r->have ? &r->st : NULL;
	char mode[8], user[64], group[64];
	uint64_t uid = r->uid, gid = r->gid;

	snprintf(mode, sizeof(mode), "%04o", (unsigned int)(r->mode & 07777));
	emit_str(e, "name", r->unlinked && e->format != TEXT ? NULL : r->name);
	if (e->format != TEXT) {
		emit_key(e, "unlinked");
		fputs(r->unlinked ? "true" : "false", stdout);
		emit_done(e);
	}
	emit_bytes(e, "size", &r->size);
	emit_str(e, "mode", mode);
	emit_u64(e, "uid", &uid);
	emit_str(e, "user", user_name(r->uid, user, sizeof(user)));
	emit_u64(e, "gid", &gid);
	emit_str(e, "group", group_name(r->gid, group, sizeof(group)));
	emit_u64(e, "attachers", st ? &st->attachers : NULL);
	emit_u64(e, "windows", st ? &st->windows : NULL);
	emit_bytes(e, "resident_bytes", st ? &st->resident_bytes : NULL);
	emit_u64(e, "pt_tables", st ? &st->pt_tables : NULL);
	emit_u64(e, "pt_links", st ? &st->pt_links : NULL);
	emit_sbytes(e, "pt_bytes_saved", st ? &st->pt_bytes_saved : NULL);
}

struct region_list {
	struct region *v;
	size_t n, cap;
	int status;		/* EXIT_FAIL if something could not be read */
	bool old_module;	/* a region said ENOTTY */
};

static struct region *region_add(struct region_list *l, const char *name)
{
	struct region *r;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct region *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	r = &l->v[l->n];
	memset(r, 0, sizeof(*r));
	r->name = strdup(name);
	if (!r->name)
		return NULL;
	l->n++;
	return r;
}

static void region_read(struct region_list *l, struct region *r, int dirfd,
			const char *entry, const struct stat *sb)
{
	int fd;

	r->size = (uint64_t)sb->st_size;
	r->mode = sb->st_mode;
	r->uid = sb->st_uid;
	r->gid = sb->st_gid;
	fd = openat(dirfd, entry, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		r->err = errno;
		return;
	}
	if (mshare_fstat(fd, &r->st) == 0) {
		r->have = true;
		r->size = r->st.size;
		r->mode = r->st.mode;
		r->uid = r->st.uid;
		r->gid = r->st.gid;
	} else {
		r->err = errno;
		if (errno == ENOTTY)
			l->old_module = true;
	}
	close(fd);
}

static void walk(struct region_list *l, int dirfd, const char *prefix)
{
	struct dirent *de;
	DIR *dir;

	dir = fdopendir(dirfd);
	if (!dir) {
		msg("%s: %s", prefix ? prefix : ".", strerror(errno));
		close(dirfd);
		l->status = EXIT_FAIL;
		return;
	}
	while ((errno = 0, de = readdir(dir))) {
		char rel[PATH_MAX];
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!prefix && !strcmp(de->d_name, MSHAREFS_INFO_NAME))
			continue;
		if (snprintf(rel, sizeof(rel), "%s%s%s", prefix ? prefix : "",
			     prefix ? "/" : "", de->d_name) >= (int)sizeof(rel))
			continue;
		if (fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW)) {
			if (errno != ENOENT) {	/* removed meanwhile */
				msg("%s: %s", rel, strerror(errno));
				l->status = EXIT_FAIL;
			}
			continue;
		}
		if (S_ISDIR(sb.st_mode)) {
			int sub = openat(dirfd, de->d_name, O_RDONLY |
					 O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0) {
				walk(l, sub, rel);
			} else if (errno != ENOENT) {
				msg("%s: %s", rel, strerror(errno));
				l->status = EXIT_FAIL;
			}
		} else if (S_ISREG(sb.st_mode)) {
			struct region *r = region_add(l, rel);

			if (!r) {
				msg("%s", strerror(ENOMEM));
				l->status = EXIT_FAIL;
				break;
			}
			region_read(l, r, dirfd, de->d_name, &sb);
		}
	}
	if (errno) {
		msg("%s: %s", prefix ? prefix : ".", strerror(errno));
		l->status = EXIT_FAIL;
	}
	closedir(dir);
}

/* Named regions by name, then those without a name by inode. */
static int by_name(const void *a, const void *b)
{
	const struct region *x = a, *y = b;

	if (x->unlinked != y->unlinked)
		return x->unlinked ? 1 : -1;
	if (x->unlinked)
		return x->ino < y->ino ? -1 : x->ino > y->ino;
	return strcmp(x->name, y->name);
}

/*
 * The regions without a name (O_TMPFILE, as libmshare-preload makes them,
 * or unlinked while in use), from MSHAREFS_LIST_REGIONS; nothing from a
 * module without it.
 */
static void add_unlinked(struct region_list *l, int dirfd)
{
	struct msharefs_region_entry *v = NULL;
	struct msharefs_list hdr;
	size_t cap = 16, i;
	int tries;

	for (tries = 0; tries < 4; tries++) {
		struct msharefs_region_entry *nv = realloc(v, cap * sizeof(*v));

		if (!nv) {
			msg("%s", strerror(ENOMEM));
			l->status = EXIT_FAIL;
			free(v);
			return;
		}
		v = nv;
		memset(&hdr, 0, sizeof(hdr));
		hdr.flags = MSHAREFS_LIST_UNLINKED;
		hdr.entry_size = sizeof(*v);
		hdr.entries = (uintptr_t)v;
		hdr.nr = cap;
		if (ioctl(dirfd, MSHAREFS_LIST_REGIONS, &hdr)) {
			if (errno != ENOTTY) {
				msg("regions without a name: %s", strerror(errno));
				l->status = EXIT_FAIL;
			}
			free(v);
			return;
		}
		if (hdr.total <= hdr.nr)
			break;
		cap = hdr.total + 16;
	}
	for (i = 0; i < hdr.nr; i++) {
		const struct msharefs_region_entry *e = &v[i];
		char name[48];
		struct region *r;

		snprintf(name, sizeof(name), "(unlinked #%llu)",
			 (unsigned long long)e->ino);
		r = region_add(l, name);
		if (!r) {
			msg("%s", strerror(ENOMEM));
			l->status = EXIT_FAIL;
			break;
		}
		r->unlinked = true;
		r->ino = e->ino;
		r->size = e->stat.region_size;
		r->mode = e->stat.mode;
		r->uid = e->stat.uid;
		r->gid = e->stat.gid;
		if (e->flags & MSHAREFS_ENTRY_NOSTAT) {
			r->err = EACCES;
			continue;
		}
		r->have = true;
		r->st.size = e->stat.region_size;
		r->st.granule = e->stat.granule;
		r->st.page_size = e->stat.page_size;
		r->st.uid = e->stat.uid;
		r->st.gid = e->stat.gid;
		r->st.mode = e->stat.mode;
		r->st.version = e->stat.version;
		r->st.attachers = e->stat.attachers;
		r->st.windows = e->stat.windows;
		r->st.resident_bytes = e->stat.resident_pages * e->stat.page_size;
		r->st.pt_tables = e->stat.pt_tables;
		r->st.pt_links = e->stat.pt_links;
		r->st.pt_bytes_saved = e->stat.pt_bytes_saved;
	}
	free(v);
}

static void regions_free(struct region_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
}

/* ---- option parsing ---- */

struct opts {
	bool json;
	bool bytes;
	bool mode_set;
	mode_t mode;
};

#define OPT_JSON	(1 << 0)
#define OPT_BYTES	(1 << 1)
#define OPT_MODE	(1 << 2)

/*
 * Parse the options of a subcommand (@argv[0] is its name) that accepts
 * those in @allowed (and --help).  Returns the index of the first operand,
 * or -1 after printing help (exit 0) or -2 after a usage error.
 */
static int parse_opts(int argc, char **argv, unsigned int allowed,
		      struct opts *o)
{
	static const struct {
		unsigned int flag;
		const char *name;
		int has_arg;
		int val;
	} all[] = {
		{ OPT_JSON, "json", no_argument, 'j' },
		{ OPT_BYTES, "bytes", no_argument, 'b' },
		{ OPT_MODE, "mode", required_argument, 'm' },
	};
	struct option longopts[5] = { { "help", no_argument, NULL, 'h' } };
	char shortopts[16] = ":h";
	size_t i, n = 1;
	int c;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		char opt[3] = { (char)all[i].val, ':', '\0' };

		if (!(allowed & all[i].flag))
			continue;
		longopts[n].name = all[i].name;
		longopts[n].has_arg = all[i].has_arg;
		longopts[n].val = all[i].val;
		n++;
		if (all[i].has_arg == no_argument)
			opt[1] = '\0';
		strcat(shortopts, opt);
	}

	memset(o, 0, sizeof(*o));
	o->mode = 0600;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'b':
			o->bytes = true;
			break;
		case 'm':
			if (cli_parse_mode(optarg, &o->mode)) {
				usage_error("invalid mode '%s' (octal permissions, at most 0777)",
					    optarg);
				return -2;
			}
			o->mode_set = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return -1;
		case ':':
			usage_error("option '%s' needs an argument",
				    argv[optind - 1]);
			return -2;
		default:
			if (optopt)
				usage_error("unknown option '-%c'", optopt);
			else
				usage_error("unknown option '%s'",
					    argv[optind - 1]);
			return -2;
		}
	}
	return optind;
}

/* ---- commands ---- */

static const char *mount_point(void)
{
	const char *mnt = mshare_mount_point();

	if (!mnt)
		fail_errno(NULL, errno);
	return mnt;
}

static void print_table(const struct region_list *l, bool bytes)
{
	static const char *const head[] = {
		"NAME", "SIZE", "MODE", "OWNER", "ATTACH", "RSS", "PT-SAVED",
	};
	/* Left-aligned columns; the others are numbers. */
	static const bool left[] = { true, false, true, true, false, false,
				     false };
	enum { NCOL = 7, CELL = 64 };
	size_t w[NCOL], i, c;
	char (*cells)[NCOL][CELL];

	cells = calloc(l->n ? l->n : 1, sizeof(*cells));
	if (!cells) {
		msg("%s", strerror(ENOMEM));
		return;
	}
	for (c = 0; c < NCOL; c++)
		w[c] = strlen(head[c]);
	for (i = 0; i < l->n; i++) {
		const struct region *r = &l->v[i];
		char *cell[NCOL];
		char user[64];

		for (c = 0; c < NCOL; c++)
			cell[c] = cells[i][c];
		if (bytes)
			snprintf(cell[1], CELL, "%" PRIu64, r->size);
		else
			cli_human(r->size, cell[1], CELL);
		snprintf(cell[2], CELL, "%04o",
			 (unsigned int)(r->mode & 07777));
		if (user_name(r->uid, user, sizeof(user)))
			snprintf(cell[3], CELL, "%s", user);
		else
			snprintf(cell[3], CELL, "%u", (unsigned int)r->uid);
		if (!r->have) {
			strcpy(cell[4], "-");
			strcpy(cell[5], "-");
			strcpy(cell[6], "-");
		} else if (bytes) {
			snprintf(cell[4], CELL, "%" PRIu64, r->st.attachers);
			snprintf(cell[5], CELL, "%" PRIu64,
				 r->st.resident_bytes);
			snprintf(cell[6], CELL, "%" PRId64,
				 r->st.pt_bytes_saved);
		} else {
			snprintf(cell[4], CELL, "%" PRIu64, r->st.attachers);
			cli_human(r->st.resident_bytes, cell[5], CELL);
			cli_human_signed(r->st.pt_bytes_saved, cell[6], CELL);
		}
		for (c = 1; c < NCOL; c++)
			if (cli_width(cell[c]) > w[c])
				w[c] = cli_width(cell[c]);
		if (cli_width(r->name) > w[0])
			w[0] = cli_width(r->name);
	}
	for (i = 0; i <= l->n; i++) {
		for (c = 0; c < NCOL; c++) {
			const char *s;
			char *name = NULL;
			size_t pad;

			if (i == 0) {
				s = head[c];
			} else if (c == 0) {
				name = strdup(l->v[i - 1].name);
				if (name)
					cli_printable(name);
				s = name ? name : "?";
			} else {
				s = cells[i - 1][c];
			}
			pad = w[c] - cli_width(s);
			if (c)
				fputs("  ", stdout);
			if (!left[c])
				printf("%*s", (int)pad, "");
			fputs(s, stdout);
			if (left[c] && c < NCOL - 1)
				printf("%*s", (int)pad, "");
			free(name);
		}
		putchar('\n');
	}
	free(cells);
}

static int cmd_ls(int argc, char **argv)
{
	struct region_list l = { 0 };
	struct emit e = { 0 };
	const char *mnt;
	struct opts o;
	size_t i;
	int fd, n;

	n = parse_opts(argc, argv, OPT_JSON | OPT_BYTES, &o);
	if (n < 0)
		return n == -1 ? EXIT_OK : EXIT_USAGE;
	if (n < argc)
		return usage_error("unexpected argument '%s'", argv[n]);
	mnt = mount_point();
	if (!mnt)
		return EXIT_FAIL;
	fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		msg("%s: %s", mnt, strerror(errno));
		return EXIT_FAIL;
	}
	add_unlinked(&l, fd);
	walk(&l, fd, NULL);
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), by_name);
	if (l.old_module)
		msg("the msharefs module does not report statistics (it is too old)");

	if (o.json) {
		fputs("{\n  \"mount\": ", stdout);
		cli_json_string(stdout, mnt);
		fputs(",\n  \"regions\": [", stdout);
		e.format = JSON_INLINE;
		for (i = 0; i < l.n; i++) {
			fputs(i ? ",\n    " : "\n    ", stdout);
			emit_begin(&e);
			emit_region(&e, &l.v[i]);
			emit_end(&e);
		}
		fputs(l.n ? "\n  ]\n}\n" : "]\n}\n", stdout);
	} else {
		print_table(&l, o.bytes);
	}
	regions_free(&l);
	return finish(l.status);
}

/* @name without its optional leading slash, as mcreate(3) reads it. */
static const char *relative(const char *name)
{
	return name[0] == '/' ? name + 1 : name;
}

/* Why mshare_stat(@name) said ENOTTY: a directory, or an old module. */
static int stat_enotty(const char *mnt, const char *name)
{
	char path[PATH_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", mnt, name);
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		msg("%s: is a directory, not a region", name);
		return EXIT_FAIL;
	}
	return fail_errno(name, ENOTTY);
}

static int cmd_stat(int argc, char **argv)
{
	struct region r = { 0 };
	struct emit e = { 0 };
	const char *mnt, *name;
	uint64_t version;
	struct opts o;
	int n;

	n = parse_opts(argc, argv, OPT_JSON | OPT_BYTES, &o);
	if (n < 0)
		return n == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc == n)
		return usage_error("missing region NAME");
	if (argc - n > 1)
		return usage_error("unexpected argument '%s'", argv[n + 1]);
	name = argv[n];
	mnt = mount_point();
	if (!mnt)
		return EXIT_FAIL;
	if (mshare_stat(name, &r.st)) {
		if (errno == ENOTTY)
			return stat_enotty(mnt, relative(name));
		return fail_errno(name, errno);
	}
	r.name = (char *)relative(name);
	r.have = true;
	r.size = r.st.size;
	r.mode = r.st.mode;
	r.uid = r.st.uid;
	r.gid = r.st.gid;
	version = r.st.version;

	e.format = o.json ? JSON : TEXT;
	e.bytes = o.bytes;
	emit_begin(&e);
	emit_region(&e, &r);
	emit_bytes(&e, "granule", &r.st.granule);
	emit_bytes(&e, "page_size", &r.st.page_size);
	emit_u64(&e, "stats_version", &version);
	emit_end(&e);
	return finish(EXIT_OK);
}

static int cmd_info(int argc, char **argv)
{
	struct mshare_statfs st;
	struct emit e = { 0 };
	const char *mnt;
	uint64_t version;
	struct opts o;
	int n;

	n = parse_opts(argc, argv, OPT_JSON | OPT_BYTES, &o);
	if (n < 0)
		return n == -1 ? EXIT_OK : EXIT_USAGE;
	if (n < argc)
		return usage_error("unexpected argument '%s'", argv[n]);
	mnt = mount_point();
	if (!mnt)
		return EXIT_FAIL;
	if (mshare_statfs(&st))
		return fail_errno(NULL, errno);
	version = st.version;

	e.format = o.json ? JSON : TEXT;
	e.bytes = o.bytes;
	emit_begin(&e);
	emit_str(&e, "mount", mnt);
	emit_str(&e, "module_version", st.module_version);
	emit_bytes(&e, "granule", &st.granule);
	emit_bytes(&e, "page_size", &st.page_size);
	emit_u64(&e, "regions", &st.regions);
	emit_u64(&e, "attachers", &st.attachers);
	emit_u64(&e, "windows", &st.windows);
	emit_bytes(&e, "resident_bytes", &st.resident_bytes);
	emit_u64(&e, "pt_tables", &st.pt_tables);
	emit_u64(&e, "pt_links", &st.pt_links);
	emit_sbytes(&e, "pt_bytes_saved", &st.pt_bytes_saved);
	emit_u64(&e, "pt_pooled", &st.pt_pooled);
	emit_u64(&e, "stats_version", &version);
	emit_end(&e);
	return finish(EXIT_OK);
}

static int cmd_create(int argc, char **argv)
{
	char want[CLI_HUMAN_MAX], unit[CLI_HUMAN_MAX];
	const char *name, *size_text, *what;
	uint64_t size;
	struct opts o;
	long granule;
	int n, fd, ret, err;

	n = parse_opts(argc, argv, OPT_MODE, &o);
	if (n < 0)
		return n == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc - n < 2)
		return usage_error("need a region NAME and a SIZE");
	if (argc - n > 2)
		return usage_error("unexpected argument '%s'", argv[n + 2]);
	name = argv[n];
	size_text = argv[n + 1];
	ret = cli_parse_size(size_text, &size);
	if (ret == -ERANGE)
		return usage_error("size '%s' is too large", size_text);
	if (ret)
		return usage_error("invalid size '%s' (bytes, or a number with a K, M, G or T suffix)",
				   size_text);
	granule = mshare_granule();
	if (granule < 0)
		return fail_errno(NULL, errno);
	if (size == 0 || size % (uint64_t)granule) {
		cli_human(size, want, sizeof(want));
		cli_human((uint64_t)granule, unit, sizeof(unit));
		return usage_error("size %s is not a multiple of the granule (%s)",
				   want, unit);
	}
	if (size > SIZE_MAX)
		return fail_errno(name, EFBIG);

	fd = mcreate(name, O_RDWR | O_CREAT | O_EXCL, o.mode);
	if (fd < 0)
		return fail_errno(name, errno);
	/* The exact mode, whatever the umask (as mkdir -m does). */
	what = "cannot set the mode";
	ret = fchmod(fd, o.mode);
	if (!ret) {
		what = "cannot set the size";
		ret = mshare_set_size(fd, (size_t)size);
	}
	if (ret) {
		err = errno;
		close(fd);
		mshare_unlink(name);
		msg("%s: %s: %s", name, what, strerror(err));
		return EXIT_FAIL;
	}
	if (close(fd)) {
		msg("%s: %s", name, strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int cmd_rm(int argc, char **argv)
{
	int n, status = EXIT_OK;
	struct opts o;

	n = parse_opts(argc, argv, 0, &o);
	if (n < 0)
		return n == -1 ? EXIT_OK : EXIT_USAGE;
	if (n == argc)
		return usage_error("missing region NAME");
	for (; n < argc; n++) {
		int ret, err;

		if (mshare_unlink(argv[n]) == 0)
			continue;
		err = errno;
		ret = fail_errno(argv[n], err);
		if (ret > status)
			status = ret;
		if (err == ENODEV)
			break;
	}
	return status;
}


/* ---- run ---- */

static int run_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run_error(const char *fmt, ...)
{
	va_list ap;

	fputs("mshare: run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_RUN_FAIL;
}

static bool readable(const char *path)
{
	return path[0] == '/' && access(path, R_OK) == 0;
}

/* The library: --library, $MSHARE_PRELOAD_LIB, installed, or relative. */
static const char *find_preload(const char *opt, char *buf, size_t len)
{
	const char *env = getenv(PRELOAD_LIB_ENV);
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (opt)
		return readable(opt) ? opt : NULL;
	if (env && *env)
		return readable(env) ? env : NULL;
	if (readable(MSHARE_PRELOAD_PATH))
		return MSHARE_PRELOAD_PATH;
	if (!MSHARE_PRELOAD_RELPATH[0])
		return NULL;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	if (snprintf(buf, len, "%s/%s", exe, MSHARE_PRELOAD_RELPATH) >= (int)len)
		return NULL;
	return readable(buf) ? buf : NULL;
}

static int bad_vars;

static void bad_var(const char *name, const char *value, const char *what)
{
	fprintf(stderr, "mshare: run: %s=%s: not %s\n", name, value, what);
	bad_vars++;
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

static int cmd_run(int argc, char **argv)
{
	enum { O_MIN = 1000, O_NOANON, O_NOSYSV, O_HUGETLB, O_NODEEP, O_LIB };
	static const struct option longopts[] = {
		{ "min-size", required_argument, NULL, O_MIN },
		{ "no-anon", no_argument, NULL, O_NOANON },
		{ "no-sysv", no_argument, NULL, O_NOSYSV },
		{ "hugetlb", no_argument, NULL, O_HUGETLB },
		{ "nodeepbind", required_argument, NULL, O_NODEEP },
		{ "library", required_argument, NULL, O_LIB },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *lib_opt = NULL, *lib;
	char libbuf[PATH_MAX], *preload;
	struct msp_config cfg;
	bool quiet = false;
	size_t len, size;
	int c;

	opterr = 0;
	optind = 0;
	/* '+': the command's own options are not ours. */
	while ((c = getopt_long(argc, argv, "+:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case O_MIN:
			if (msp_parse_size(optarg, &size) || !size)
				return run_error("invalid --min-size '%s' (bytes, or a number with a K, M, G or T suffix, not 0)",
						 optarg);
			setenv("MSHARE_MIN_SIZE", optarg, 1);
			break;
		case O_NOANON:
			setenv("MSHARE_ANON", "0", 1);
			break;
		case O_NOSYSV:
			setenv("MSHARE_SYSV", "0", 1);
			break;
		case O_HUGETLB:
			setenv("MSHARE_HUGETLB", "1", 1);
			break;
		case O_NODEEP:
			setenv("MSHARE_NODEEPBIND", optarg, 1);
			break;
		case O_LIB:
			lib_opt = optarg;
			break;
		case 'v':
			setenv("MSHARE_VERBOSE", "1", 1);
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return finish(EXIT_OK);
		case ':':
			return run_error("option '%s' needs an argument",
					 argv[optind - 1]);
		default:
			if (optopt)
				return run_error("unknown option '-%c'", optopt);
			return run_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return run_error("missing COMMAND");

	/* What the library will read: all of it must make sense. */
	msp_config_load(&cfg, env_get, bad_var);
	if (bad_vars)
		return EXIT_RUN_FAIL;
	lib = find_preload(lib_opt, libbuf, sizeof(libbuf));
	if (!lib) {
		if (lib_opt)
			return run_error("%s: not a readable absolute path", lib_opt);
		return run_error("libmshare-preload.so not found (%s%s%s); set %s or use --library",
				 getenv(PRELOAD_LIB_ENV) ? getenv(PRELOAD_LIB_ENV) : MSHARE_PRELOAD_PATH,
				 MSHARE_PRELOAD_RELPATH[0] ? ", or relative to mshare: " : "",
				 MSHARE_PRELOAD_RELPATH, PRELOAD_LIB_ENV);
	}
	len = strlen(lib) + (getenv("LD_PRELOAD") ? strlen(getenv("LD_PRELOAD")) : 0) + 2;
	preload = malloc(len);
	if (!preload)
		return run_error("%s", strerror(ENOMEM));
	if (cli_preload_list(getenv("LD_PRELOAD"), lib, preload, len))
		return run_error("%s: a library path with ':' or ' ' cannot be preloaded",
				 lib);
	setenv("LD_PRELOAD", preload, 1);
	free(preload);
	if (!quiet && !mshare_mount_point())
		fprintf(stderr, "mshare: run: no msharefs mount (%s): %s runs without shared page tables\n",
			strerror(errno), argv[optind]);
	fflush(stdout);
	execvp(argv[optind], argv + optind);
	c = errno;
	fprintf(stderr, "mshare: run: %s: %s\n", argv[optind], strerror(c));
	return c == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "ls", cmd_ls },
	{ "info", cmd_info },
	{ "stat", cmd_stat },
	{ "create", cmd_create },
	{ "rm", cmd_rm },
	{ "run", cmd_run },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage_text, stdout);
		return finish(EXIT_OK);
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("mshare (libmshare) %s\n", MSHARE_VERSION);
		return finish(EXIT_OK);
	}
	if (argv[1][0] == '-')
		return usage_error("unknown option '%s'", argv[1]);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[1], commands[i].name)) {
			command = commands[i].name;
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	return usage_error("unknown command '%s'", argv[1]);
}
