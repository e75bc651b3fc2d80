// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * live-tool: the mshare command against the real module.  Known state: a
 * 4-chunk region attached by 3 processes that touch 2 chunks each, so
 * `mshare ls/stat/info` must say 3 attachers, 4 MiB resident, 2 tables,
 * 6 links, 16 KiB saved (human, --bytes, --json); a region the user cannot
 * read shows '-' / null; the saving turns negative when they leave.
 * `mshare create` (sizes, exact mode, rollback) and `mshare rm`, checked
 * with stat(2); every error path with its exit status and message; no
 * mount (LIBMSHARE_MOUNT elsewhere), another mount; names that need
 * escaping.
 */
#include "agent.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/msharefs.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY	65534
#define PS	4096L

static char tool_path[PATH_MAX];

static struct {
	int status;
	char out[32768];
	char err[8192];
} R;

static void find_tool(void)
{
	const char *s = sibling("mshare");

	if (s) {
		snprintf(tool_path, sizeof(tool_path), "%s", s);
		return;
	}
	/* The build tree: tests/live/../../src/tool/mshare. */
	snprintf(tool_path, sizeof(tool_path), "%s/../../src/tool/mshare",
		 bindir());
	CHECKF(access(tool_path, X_OK) == 0, "no mshare binary in %s",
	       bindir());
}

/*
 * Run mshare with the arguments (NULL-terminated) as @uid (0: root), with
 * the environment variable @env ("NAME=VALUE", or NULL) added; its stdout
 * and stderr land in R.out and R.err.  Returns the exit status.
 */
static int tool(uid_t uid, const char *env, ...)
{
	char *argv[16] = { "mshare" };
	int out[2], err[2], argc = 1;
	va_list ap;
	pid_t pid;

	va_start(ap, env);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;

	CHECK(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		if (env)
			putenv((char *)env);
		if (uid && (setgroups(0, NULL) || setgid(uid) || setuid(uid)))
			_exit(99);
		execv(tool_path, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	/* Both outputs are far below a pipe's capacity: read one, then the other. */
	read_all(out[0], R.out, sizeof(R.out));
	read_all(err[0], R.err, sizeof(R.err));
	R.status = wait_status(pid);
	fprintf(stderr, "  $ %s%s%smshare", env ? env : "", env ? " " : "",
		uid ? "(as nobody) " : "");
	for (int i = 1; i < argc; i++)
		fprintf(stderr, " %s", argv[i]);
	fprintf(stderr, " -> %d\n%s%s%s", R.status, R.out,
		R.err[0] ? "  stderr: " : "", R.err);
	return R.status;
}

#define MSHARE(...)	tool(0, NULL, __VA_ARGS__, (char *)NULL)
#define NOBODY_MSHARE(...) tool(NOBODY, NULL, __VA_ARGS__, (char *)NULL)
#define ENV_MSHARE(env, ...) tool(0, env, __VA_ARGS__, (char *)NULL)

/* The command succeeded and said nothing on stderr. */
#define OK(...) do {							\
	CHECKF(MSHARE(__VA_ARGS__) == 0, "exit status %d", R.status);	\
	CHECKF(R.err[0] == '\0', "stderr: %s", R.err);			\
} while (0)

/* The command failed with @status, nothing on stdout, and stderr begins
 * with @msg. */
static void expect_fail(int line, int status, const char *msg)
{
	CHECKF(R.status == status, "line %d: exit status %d, want %d", line,
	       R.status, status);
	CHECKF(R.out[0] == '\0', "line %d: stdout: %s", line, R.out);
	CHECKF(!strncmp(R.err, msg, strlen(msg)),
	       "line %d: stderr \"%s\", want it to start with \"%s\"", line,
	       R.err, msg);
}
#define FAILS(status, msg, ...) do {					\
	MSHARE(__VA_ARGS__);						\
	expect_fail(__LINE__, status, msg);				\
} while (0)

#define TRY_HELP "Try 'mshare --help' for more information.\n"

/* The whitespace-separated fields of the line of @out starting with @name. */
static int row(const char *out, const char *name, char f[8][64])
{
	const char *line = out;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char buf[512];
		int n = 0;

		snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
		for (char *t = strtok(buf, " "); t && n < 8; t = strtok(NULL, " "))
			snprintf(f[n++], 64, "%s", t);
		if (n && !strcmp(f[0], name))
			return n;
		line = end ? end + 1 : NULL;
	}
	return 0;
}

static void expect_row(int line, const char *name, const char *size,
		       const char *mode, const char *owner, const char *att,
		       const char *rss, const char *saved)
{
	const char *want[7] = { name, size, mode, owner, att, rss, saved };
	char f[8][64];
	int n = row(R.out, name, f);

	CHECKF(n == 7, "line %d: no 7-column row for %s in:\n%s", line, name,
	       R.out);
	for (int i = 1; i < 7; i++)
		CHECKF(!strcmp(f[i], want[i]), "line %d: %s column %d is %s, want %s",
		       line, name, i, f[i], want[i]);
}
#define EXPECT_ROW(...) expect_row(__LINE__, __VA_ARGS__)

/* The value of "key:" in key/value output. */
static const char *kv(const char *key)
{
	static char val[256];
	size_t kl = strlen(key);

	for (const char *p = R.out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, key, kl) && p[kl] == ':') {
			const char *v = p + kl + 1;
			size_t n;

			while (*v == ' ')
				v++;
			n = strcspn(v, "\n");
			snprintf(val, sizeof(val), "%.*s", (int)n, v);
			return val;
		}
	}
	return "(missing)";
}
#define EXPECT_KV(key, want) \
	CHECKF(!strcmp(kv(key), want), "%s: %s, want %s", key, kv(key), want)
#define EXPECT_STARTS(s) \
	CHECKF(!strncmp(R.out, s, strlen(s)), "the output does not start with \"%s\"", s)
#define EXPECT_ENDS(s) \
	CHECKF(strlen(R.out) >= strlen(s) && \
	       !strcmp(R.out + strlen(R.out) - strlen(s), s), \
	       "the output does not end with \"%s\"", s)
#define EXPECT_OUT_HAS(s) \
	CHECKF(strstr(R.out, s) != NULL, "no \"%s\" in the output", s)

static void expect_file(const char *name, off_t size, mode_t mode, uid_t uid)
{
	struct stat sb;

	CHECKF(stat(mpath(name), &sb) == 0, "stat %s", name);
	CHECK(S_ISREG(sb.st_mode));
	CHECKF(sb.st_size == size, "%s: size %lld, want %lld", name,
	       (long long)sb.st_size, (long long)size);
	CHECKF((sb.st_mode & 07777) == mode, "%s: mode %o, want %o", name,
	       sb.st_mode & 07777, mode);
	CHECK(sb.st_uid == uid);
}

static void expect_gone(const char *name)
{
	struct stat sb;

	EXPECT_ERRNO(stat(mpath(name), &sb), ENOENT);
}

static void help_and_usage(void)
{
	OK("--version");
	CHECKF(!strncmp(R.out, "mshare (libmshare) ", 19) &&
	       strlen(R.out) > 20 && R.out[strlen(R.out) - 1] == '\n',
	       "version: %s", R.out);
	OK("-V");
	OK("--help");
	EXPECT_STARTS("Usage: mshare COMMAND");
	EXPECT_OUT_HAS("Exit status: 0 success, 1 failure, 2 wrong command line; run: the\n");
	OK("help");
	OK("ls", "--help");
	EXPECT_STARTS("Usage: mshare COMMAND");

	CHECK(tool(0, NULL, (char *)NULL) == 2);
	CHECK(!strncmp(R.err, "Usage: mshare", 13) && R.out[0] == '\0');
	FAILS(2, "mshare: unknown command 'frobnicate'\n" TRY_HELP, "frobnicate");
	FAILS(2, "mshare: unknown option '--frob'\n" TRY_HELP, "--frob");
	FAILS(2, "mshare: ls: unknown option '--frob'\n" TRY_HELP, "ls", "--frob");
	FAILS(2, "mshare: ls: unknown option '-x'\n", "ls", "-x");
	FAILS(2, "mshare: ls: unexpected argument 'extra'\n", "ls", "extra");
	FAILS(2, "mshare: info: unexpected argument 'extra'\n", "info", "extra");
	FAILS(2, "mshare: stat: missing region NAME\n", "stat");
	FAILS(2, "mshare: stat: unexpected argument 'b'\n", "stat", "a", "b");
	FAILS(2, "mshare: rm: missing region NAME\n", "rm");
	FAILS(2, "mshare: rm: unknown option '--json'\n", "rm", "--json", "x");
	FAILS(2, "mshare: create: unknown option '--json'\n", "create", "--json",
	      "x", "2M");
	FAILS(2, "mshare: stat: unknown option '--mode'\n", "stat", "--mode",
	      "600", "x");
}

static void empty_mount(void)
{
	OK("ls");
	CHECKF(!strcmp(R.out, "NAME  SIZE  MODE  OWNER  ATTACH  RSS  PT-SAVED\n"),
	       "empty ls: %s", R.out);
	OK("ls", "--json");
	CHECKF(!strcmp(R.out, "{\n  \"mount\": \"" MNT "\",\n  \"regions\": []\n}\n"),
	       "empty ls --json: %s", R.out);
	OK("info", "--bytes");
	EXPECT_KV("mount", MNT);
	EXPECT_KV("regions", "0");
	EXPECT_KV("pt_bytes_saved", "0");
}

static void create_errors(void)
{
	FAILS(1, "mshare: create: known: File exists\n", "create", "known", "2M");
	expect_file("known", 4 * GRANULE, 0600, 0);
	FAILS(2, "mshare: create: invalid size '3X' (bytes, or a number with a K, M, G or T suffix)\n"
	      TRY_HELP, "create", "x", "3X");
	FAILS(2, "mshare: create: invalid size 'abc'", "create", "x", "abc");
	FAILS(2, "mshare: create: unknown option '-2'", "create", "x", "-2M");
	FAILS(2, "mshare: create: invalid size '-2M'", "create", "x", "--", "-2M");
	FAILS(2, "mshare: create: invalid size '1.5G'", "create", "x", "1.5G");
	FAILS(2, "mshare: create: size 3.0M is not a multiple of the granule (2.0M)\n"
	      TRY_HELP, "create", "x", "3M");
	FAILS(2, "mshare: create: size 0 is not a multiple of the granule (2.0M)\n",
	      "create", "x", "0");
	FAILS(2, "mshare: create: size 1.0K is not a multiple", "create", "x",
	      "1024");
	FAILS(2, "mshare: create: size '99999999999999999999' is too large\n",
	      "create", "x", "99999999999999999999");
	FAILS(2, "mshare: create: size '20000000T' is too large\n", "create",
	      "x", "20000000T");
	FAILS(2, "mshare: create: invalid mode '0999' (octal permissions, at most 0777)\n"
	      TRY_HELP, "create", "x", "2M", "--mode", "0999");
	FAILS(2, "mshare: create: invalid mode 'rw'", "create", "--mode=rw", "x",
	      "2M");
	FAILS(2, "mshare: create: invalid mode '01777'", "create", "-m", "01777",
	      "x", "2M");
	FAILS(2, "mshare: create: option '--mode' needs an argument\n",
	      "create", "x", "2M", "--mode");
	FAILS(2, "mshare: create: need a region NAME and a SIZE\n", "create", "x");
	FAILS(2, "mshare: create: need a region NAME and a SIZE\n", "create");
	FAILS(2, "mshare: create: unexpected argument 'extra'\n", "create", "x",
	      "2M", "extra");
	FAILS(2, "mshare: create: 'mshare_info': invalid region name\n", "create",
	      "mshare_info", "2M");
	FAILS(2, "mshare: create: 'a//b': invalid region name\n", "create",
	      "a//b", "2M");
	FAILS(2, "mshare: create: '..': invalid region name\n", "create", "..",
	      "2M");
	FAILS(1, "mshare: create: nodir/x: No such file or directory\n", "create",
	      "nodir/x", "2M");
	expect_gone("x");
	/* 2^63 bytes: the size cannot be set, the new region goes again. */
	FAILS(1, "mshare: create: huge: cannot set the size: File too large\n",
	      "create", "huge", "8388608T");
	expect_gone("huge");
	/* A region in a directory nobody may write to. */
	NOBODY_MSHARE("create", "db/x", "2M");
	expect_fail(__LINE__, 1, "mshare: create: db/x: Permission denied\n");
	expect_gone("db/x");
}

static void create_ok(void)
{
	umask(022);
	OK("create", "known", "8M");
	CHECK(R.out[0] == '\0');
	expect_file("known", 4 * GRANULE, 0600, 0);
	/* The exact mode, whatever the umask. */
	OK("create", "--mode", "0666", "wide", "2097152");
	expect_file("wide", GRANULE, 0666, 0);
	CHECK(mkdir(mpath("db"), 0755) == 0);
	OK("create", "/db/inner", "4MiB", "-m", "640");
	expect_file("db/inner", 2 * GRANULE, 0640, 0);
	/* Created by nobody in the sticky root: theirs. */
	NOBODY_MSHARE("create", "theirs", "2m");
	CHECK(R.status == 0 && R.err[0] == '\0');
	expect_file("theirs", GRANULE, 0600, NOBODY);
}

static void known_state(struct agent ag[3])
{
	const char *ver;
	char line[256];

	for (int i = 0; i < 3; i++) {
		agent_fork(&ag[i], "two-chunks");
		AGENT(&ag[i], "open known rw");
		AGENT(&ag[i], "attach rw");
		AGENT(&ag[i], "close");
		CHECK(reply_num(AGENT(&ag[i], "probe w 0"), 0) == 0);
		CHECK(reply_num(AGENT(&ag[i], "probe w %lu", GRANULE), 0) == 0);
	}

	/* ls: sorted by name; "theirs" is owned by a user without a name. */
	OK("ls", "--bytes");
	CHECK(!strncmp(R.out, "NAME ", 5));
	EXPECT_ROW("known", "8388608", "0600", "root", "3", "4194304", "16384");
	EXPECT_ROW("wide", "2097152", "0666", "root", "0", "0", "0");
	EXPECT_ROW("db/inner", "4194304", "0640", "root", "0", "0", "0");
	EXPECT_ROW("theirs", "2097152", "0600", "65534", "0", "0", "0");
	CHECK(strstr(R.out, "\ndb/inner ") < strstr(R.out, "\nknown ") &&
	      strstr(R.out, "\nknown ") < strstr(R.out, "\ntheirs ") &&
	      strstr(R.out, "\ntheirs ") < strstr(R.out, "\nwide "));
	CHECK(!strstr(R.out, "mshare_info"));
	OK("ls");
	EXPECT_ROW("known", "8.0M", "0600", "root", "3", "4.0M", "16K");
	EXPECT_ROW("db/inner", "4.0M", "0640", "root", "0", "0", "0");
	/* Columns line up: every line as long as the header. */
	{
		size_t hl = strcspn(R.out, "\n");

		for (const char *p = R.out; *p; p += strcspn(p, "\n") + 1)
			CHECKF(strcspn(p, "\n") == hl, "ragged table:\n%s", R.out);
	}
	OK("ls", "--json");
	EXPECT_STARTS("{\n  \"mount\": \"/sys/fs/mshare\",\n  \"regions\": [\n    {\"name\": \"db/inner\", ");
	EXPECT_OUT_HAS("{\"name\": \"known\", \"unlinked\": false, \"size\": 8388608, \"mode\": \"0600\", \"uid\": 0, \"user\": \"root\", \"gid\": 0, \"group\": \"root\", \"attachers\": 3, \"windows\": 3, \"resident_bytes\": 4194304, \"pt_tables\": 2, \"pt_links\": 6, \"pt_bytes_saved\": 16384}");
	EXPECT_OUT_HAS("{\"name\": \"theirs\", \"unlinked\": false, \"size\": 2097152, \"mode\": \"0600\", \"uid\": 65534, \"user\": null, \"gid\": 65534, \"group\": null, \"attachers\": 0,");
	EXPECT_ENDS("\"pt_bytes_saved\": 0}\n  ]\n}\n");

	/* As a user who may read only some of them. */
	NOBODY_MSHARE("ls");
	CHECK(R.status == 0 && R.err[0] == '\0');
	EXPECT_ROW("known", "8.0M", "0600", "root", "-", "-", "-");
	EXPECT_ROW("db/inner", "4.0M", "0640", "root", "-", "-", "-");
	EXPECT_ROW("wide", "2.0M", "0666", "root", "0", "0", "0");
	EXPECT_ROW("theirs", "2.0M", "0600", "65534", "0", "0", "0");
	NOBODY_MSHARE("ls", "--json");
	EXPECT_OUT_HAS("{\"name\": \"known\", \"unlinked\": false, \"size\": 8388608, \"mode\": \"0600\", \"uid\": 0, \"user\": \"root\", \"gid\": 0, \"group\": \"root\", \"attachers\": null, \"windows\": null, \"resident_bytes\": null, \"pt_tables\": null, \"pt_links\": null, \"pt_bytes_saved\": null}");

	/* stat: every figure. */
	OK("stat", "known");
	EXPECT_KV("name", "known");
	EXPECT_KV("size", "8.0M");
	EXPECT_KV("mode", "0600");
	EXPECT_KV("uid", "0");
	EXPECT_KV("user", "root");
	EXPECT_KV("gid", "0");
	EXPECT_KV("group", "root");
	EXPECT_KV("attachers", "3");
	EXPECT_KV("windows", "3");
	EXPECT_KV("resident_bytes", "4.0M");
	EXPECT_KV("pt_tables", "2");
	EXPECT_KV("pt_links", "6");
	EXPECT_KV("pt_bytes_saved", "16K");
	EXPECT_KV("granule", "2.0M");
	EXPECT_KV("page_size", "4.0K");
	EXPECT_KV("stats_version", "1");
	snprintf(line, sizeof(line), "%-16s%s\n%-16s%s\n", "name:", "known",
		 "size:", "8.0M");
	EXPECT_STARTS(line);
	OK("stat", "--bytes", "/known");
	EXPECT_KV("name", "known");
	EXPECT_KV("size", "8388608");
	EXPECT_KV("resident_bytes", "4194304");
	EXPECT_KV("pt_bytes_saved", "16384");
	EXPECT_KV("granule", "2097152");
	OK("stat", "known", "--json");
	EXPECT_STARTS("{\n  \"name\": \"known\",\n  \"unlinked\": false,\n  \"size\": 8388608,\n");
	EXPECT_OUT_HAS(",\n  \"attachers\": 3,\n  \"windows\": 3,\n  \"resident_bytes\": 4194304,\n  \"pt_tables\": 2,\n  \"pt_links\": 6,\n  \"pt_bytes_saved\": 16384,\n  \"granule\": 2097152,\n  \"page_size\": 4096,\n  \"stats_version\": 1\n}\n");
	OK("stat", "theirs");
	EXPECT_KV("user", "-");
	EXPECT_KV("uid", "65534");

	/* info: the totals. */
	OK("info");
	EXPECT_KV("mount", MNT);
	ver = proc_read("/sys/module/msharefs/version");
	CHECK(ver != NULL);
	EXPECT_KV("module_version", ver);
	EXPECT_KV("granule", "2.0M");
	EXPECT_KV("page_size", "4.0K");
	EXPECT_KV("regions", "4");
	EXPECT_KV("attachers", "3");
	EXPECT_KV("windows", "3");
	EXPECT_KV("resident_bytes", "4.0M");
	EXPECT_KV("pt_tables", "2");
	EXPECT_KV("pt_links", "6");
	EXPECT_KV("pt_bytes_saved", "16K");
	EXPECT_KV("stats_version", "1");
	OK("info", "--bytes");
	EXPECT_KV("resident_bytes", "4194304");
	EXPECT_KV("pt_bytes_saved", "16384");
	OK("info", "--json");
	snprintf(line, sizeof(line), "{\n  \"mount\": \"/sys/fs/mshare\",\n  \"module_version\": \"%s\",\n  \"granule\": 2097152,\n", ver);
	EXPECT_STARTS(line);
	EXPECT_OUT_HAS("\"regions\": 4,\n  \"attachers\": 3,\n  \"windows\": 3,\n  \"resident_bytes\": 4194304,\n  \"pt_tables\": 2,\n  \"pt_links\": 6,\n  \"pt_bytes_saved\": 16384,\n");
	/* Nobody may see the totals. */
	NOBODY_MSHARE("info", "--bytes");
	CHECK(R.status == 0);
	EXPECT_KV("pt_links", "6");
}

static void stat_errors(void)
{
	FAILS(1, "mshare: stat: nope: No such file or directory\n", "stat", "nope");
	FAILS(1, "mshare: stat: db: is a directory, not a region\n", "stat", "db");
	FAILS(2, "mshare: stat: 'mshare_info': invalid region name\n", "stat",
	      "mshare_info");
	FAILS(1, "mshare: stat: known/x: Not a directory\n", "stat", "known/x");
	NOBODY_MSHARE("stat", "known");
	expect_fail(__LINE__, 1, "mshare: stat: known: Permission denied\n");
}

static void odd_names(void)
{
	char f[8][64];

	close(raw_create("we\"ird\tname", GRANULE));
	close(raw_create("bad\xffutf8", 0));
	OK("ls", "--json");
	EXPECT_OUT_HAS("{\"name\": \"we\\\"ird\\tname\", \"unlinked\": false, \"size\": 2097152,");
	EXPECT_OUT_HAS("{\"name\": \"bad\\ufffdutf8\", \"unlinked\": false, \"size\": 0,");
	OK("ls");
	CHECK(row(R.out, "we\"ird?name", f) == 7);
	CHECK(!strcmp(f[1], "2.0M"));
	OK("stat", "we\"ird\tname");
	EXPECT_KV("name", "we\"ird?name");
	CHECK(unlink(mpath("we\"ird\tname")) == 0);
	CHECK(unlink(mpath("bad\xffutf8")) == 0);
}

static void rm_and_negative(struct agent ag[3])
{
	/* Everyone leaves: tables stay, links go, the saving is negative. */
	for (int i = 0; i < 3; i++)
		agent_stop(&ag[i]);
	for (long end = now_ms() + wait_ms(2000); now_ms() < end; usleep(20000)) {
		MSHARE("stat", "--bytes", "known");
		if (!strcmp(kv("attachers"), "0"))
			break;
	}
	OK("ls", "--bytes");
	EXPECT_ROW("known", "8388608", "0600", "root", "0", "4194304", "-8192");
	OK("ls");
	EXPECT_ROW("known", "8.0M", "0600", "root", "0", "4.0M", "-8.0K");

	/* rm: nobody may not remove root's regions from the sticky root. */
	NOBODY_MSHARE("rm", "known");
	expect_fail(__LINE__, 1, "mshare: rm: known: Operation not permitted\n");
	expect_file("known", 4 * GRANULE, 0600, 0);
	FAILS(1, "mshare: rm: nope: No such file or directory\n", "rm", "nope");
	FAILS(1, "mshare: rm: db: Is a directory\n", "rm", "db");
	FAILS(2, "mshare: rm: 'mshare_info': invalid region name\n", "rm",
	      "mshare_info");
	/* Every name is tried. */
	FAILS(1, "mshare: rm: nope: No such file or directory\n", "rm", "wide",
	      "nope", "db/inner");
	expect_gone("wide");
	expect_gone("db/inner");
	OK("rm", "known", "/theirs");
	CHECK(R.out[0] == '\0');
	expect_gone("known");
	expect_gone("theirs");
	CHECK(rmdir(mpath("db")) == 0);
	OK("ls");
	CHECK(!strcmp(R.out, "NAME  SIZE  MODE  OWNER  ATTACH  RSS  PT-SAVED\n"));
}

static void other_mounts(void)
{
	static const char enodev[] =
		"LIBMSHARE_MOUNT=/tmp is not an msharefs mount\n";
	char env[128], msg[128];

	ENV_MSHARE("LIBMSHARE_MOUNT=/tmp", "ls");
	expect_fail(__LINE__, 1, "mshare: ls: LIBMSHARE_MOUNT=/tmp is not an msharefs mount\n");
	ENV_MSHARE("LIBMSHARE_MOUNT=/tmp", "ls", "--json");
	expect_fail(__LINE__, 1, "mshare: ls: ");
	ENV_MSHARE("LIBMSHARE_MOUNT=/tmp", "info");
	expect_fail(__LINE__, 1, "mshare: info: ");
	CHECK(strstr(R.err, enodev));
	ENV_MSHARE("LIBMSHARE_MOUNT=/tmp", "stat", "x");
	expect_fail(__LINE__, 1, "mshare: stat: ");
	CHECK(strstr(R.err, enodev));
	ENV_MSHARE("LIBMSHARE_MOUNT=/tmp", "create", "x", "2M");
	expect_fail(__LINE__, 1, "mshare: create: ");
	CHECK(strstr(R.err, enodev));
	ENV_MSHARE("LIBMSHARE_MOUNT=/tmp", "rm", "x", "y");
	expect_fail(__LINE__, 1, "mshare: rm: ");
	CHECK(strstr(R.err, enodev) && !strstr(R.err, "y:"));
	ENV_MSHARE("LIBMSHARE_MOUNT=/nonexistent", "ls");
	expect_fail(__LINE__, 1, "mshare: ls: LIBMSHARE_MOUNT=/nonexistent is not an msharefs mount\n");

	/* Another msharefs mount: its own regions and totals. */
	mount2_dir();
	CHECK(mount("none", m2, MSHAREFS_FSTYPE, 0, NULL) == 0);
	m2_mounted = true;
	close(raw_create("main-only", GRANULE));
	snprintf(env, sizeof(env), "LIBMSHARE_MOUNT=%s", m2);
	ENV_MSHARE(env, "create", "elsewhere", "4M");
	CHECK(R.status == 0);
	ENV_MSHARE(env, "ls", "--bytes");
	CHECK(R.status == 0);
	EXPECT_ROW("elsewhere", "4194304", "0600", "root", "0", "0", "0");
	CHECK(!strstr(R.out, "main-only"));
	ENV_MSHARE(env, "info");
	EXPECT_KV("mount", m2);
	EXPECT_KV("regions", "1");
	ENV_MSHARE(env, "rm", "elsewhere");
	CHECK(R.status == 0);
	snprintf(msg, sizeof(msg), "%s/elsewhere", m2);
	CHECK(access(msg, F_OK) == -1 && errno == ENOENT);
	CHECK(umount(m2) == 0);
	m2_mounted = false;
	CHECK(unlink(mpath("main-only")) == 0);
}

int main(void)
{
	struct agent ag[3];

	live_init("live-tool");
	find_tool();

	help_and_usage();
	empty_mount();
	create_ok();
	create_errors();
	known_state(ag);
	stat_errors();
	odd_names();
	rm_and_negative(ag);
	other_mounts();
	live_done();
}
