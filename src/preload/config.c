// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The configuration of libmshare-preload: environment variables, read
 * once when the library is loaded (servers such as php-fpm clear the
 * environment of their workers later).  Also linked into the mshare
 * command, which checks the same variables before `mshare run`.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

/* Every variable the library reads; libmshare-preload(8) documents each
 * (tests/unit/check-man-env.sh checks that it does). */
const struct msp_var msp_vars[] = {
	{ "MSHARE_MIN_SIZE", "a size (bytes, or K, M, G, T)" },
	{ "MSHARE_ANON", "0 or 1" },
	{ "MSHARE_SYSV", "0 or 1" },
	{ "MSHARE_HUGETLB", "0 or 1" },
	{ "MSHARE_VERBOSE", "0 or 1" },
	{ "MSHARE_NODEEPBIND", "a list of library names" },
	{ "LIBMSHARE_MOUNT", "a directory" },
};
const size_t msp_nr_vars = sizeof(msp_vars) / sizeof(msp_vars[0]);

struct msp_config msp_cfg = {
	.anon = true,
	.sysv = true,
	.min_size = MSP_DEFAULT_MIN_SIZE,
	.nodeepbind = MSP_DEFAULT_NODEEPBIND,
};

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool same_word(const char *a, const char *b)
{
	while (*a && lower((unsigned char)*a) == *b) {
		a++;
		b++;
	}
	return !*a && !*b;
}

int msp_parse_bool(const char *text, bool *val)
{
	static const char *const yes[] = { "1", "yes", "on", "true" };
	static const char *const no[] = { "0", "no", "off", "false" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (same_word(text, yes[i])) {
			*val = true;
			return 0;
		}
		if (same_word(text, no[i])) {
			*val = false;
			return 0;
		}
	}
	return -EINVAL;
}

int msp_parse_size(const char *text, size_t *size)
{
	unsigned int shift = 0;
	const char *p = text;
	size_t v = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned int d = (unsigned int)(*p - '0');

		if (v > (SIZE_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	switch (lower((unsigned char)*p)) {
	case '\0':
		break;
	case 't':
		shift += 10;
		/* fall through */
	case 'g':
		shift += 10;
		/* fall through */
	case 'm':
		shift += 10;
		/* fall through */
	case 'k':
		shift += 10;
		p++;
		if (p[0] == 'i' && lower((unsigned char)p[1]) == 'b')
			p += 2;
		break;
	default:
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	if (shift && v > (SIZE_MAX >> shift))
		return -ERANGE;
	*size = v << shift;
	return 0;
}

static bool is_sep(char c)
{
	return c == ':' || c == ',' || c == ' ' || c == '\t';
}

bool msp_list_match(const char *list, const char *path)
{
	const char *base = strrchr(path, '/');
	size_t blen;

	base = base ? base + 1 : path;
	blen = strlen(base);
	while (*list) {
		const char *w;
		size_t wlen;

		while (is_sep(*list))
			list++;
		w = list;
		while (*list && !is_sep(*list))
			list++;
		wlen = (size_t)(list - w);
		if (!wlen)
			continue;
		if (w[wlen - 1] == '*') {
			if (wlen - 1 <= blen && !strncmp(w, base, wlen - 1))
				return true;
		} else if (wlen == blen && !strncmp(w, base, wlen)) {
			return true;
		}
	}
	return false;
}

static bool copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

int msp_config_load(struct msp_config *cfg, const char *(*get)(const char *),
		    void (*bad)(const char *name, const char *value,
				const char *what))
{
	const char *v;
	int nbad = 0;
	bool b;
	size_t n;

	memset(cfg, 0, sizeof(*cfg));
	cfg->anon = true;
	cfg->sysv = true;
	cfg->min_size = MSP_DEFAULT_MIN_SIZE;
	strcpy(cfg->nodeepbind, MSP_DEFAULT_NODEEPBIND);

#define BAD(i) do {							\
	nbad++;								\
	if (bad)							\
		bad(msp_vars[i].name, v, msp_vars[i].what);		\
} while (0)
	if ((v = get(msp_vars[0].name))) {
		if (!msp_parse_size(v, &n) && n)
			cfg->min_size = n;
		else
			BAD(0);
	}
	if ((v = get(msp_vars[1].name))) {
		if (!msp_parse_bool(v, &b))
			cfg->anon = b;
		else
			BAD(1);
	}
	if ((v = get(msp_vars[2].name))) {
		if (!msp_parse_bool(v, &b))
			cfg->sysv = b;
		else
			BAD(2);
	}
	if ((v = get(msp_vars[3].name))) {
		if (!msp_parse_bool(v, &b))
			cfg->hugetlb = b;
		else
			BAD(3);
	}
	if ((v = get(msp_vars[4].name))) {
		if (!msp_parse_bool(v, &b))
			cfg->verbose = b;
		else
			BAD(4);
	}
	if ((v = get(msp_vars[5].name))) {
		if (!copy_str(cfg->nodeepbind, sizeof(cfg->nodeepbind), v))
			BAD(5);
	}
	if ((v = get(msp_vars[6].name))) {
		if (v[0] != '/' ||
		    !copy_str(cfg->mount, sizeof(cfg->mount), v))
			BAD(6);
	}
#undef BAD
	cfg->loaded = true;
	return nbad;
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

static void env_bad(const char *name, const char *value, const char *what)
{
	msp_log("%s=%s is not %s: ignored", name, value, what);
}

static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void config_load_env(void)
{
	struct msp_config cfg;

	msp_config_load(&cfg, env_get, NULL);
	/* Verbose first, so that the complaints below can be seen. */
	msp_cfg.verbose = cfg.verbose;
	msp_config_load(&cfg, env_get, env_bad);
	cfg.loaded = false;
	memcpy(&msp_cfg, &cfg, sizeof(cfg));
	__atomic_store_n(&msp_cfg.loaded, true, __ATOMIC_RELEASE);
}

void msp_config_ensure(void)
{
	pthread_once(&config_once, config_load_env);
}
