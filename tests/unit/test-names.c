// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Region name rules (msh_name_check) and path joining (msh_path_join).
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

struct name_case {
	const char *name;
	int ret;
	const char *rel;
};

static void check_case(const struct name_case *c)
{
	const char *rel = NULL;
	int ret = msh_name_check(c->name, &rel);

	print_message("name \"%.40s\": %d\n", c->name ? c->name : "(null)",
		      ret);
	assert_int_equal(ret, c->ret);
	if (!ret)
		assert_string_equal(rel, c->rel);
	else
		assert_null(rel);
}

static void test_valid(void **state)
{
	static const struct name_case cases[] = {
		{ "a", 0, "a" },
		{ "/a", 0, "a" },
		{ "db/cache", 0, "db/cache" },
		{ "/db/cache", 0, "db/cache" },
		{ "a.b", 0, "a.b" },
		{ ".a", 0, ".a" },
		{ "..a", 0, "..a" },
		{ "a..", 0, "a.." },
		{ "...", 0, "..." },
		{ "a b", 0, "a b" },
		{ "mshare_info2", 0, "mshare_info2" },
		{ "mshare_inf", 0, "mshare_inf" },
		{ "db/mshare_info", 0, "db/mshare_info" },
		{ "x/y/z/w", 0, "x/y/z/w" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
}

static void test_einval(void **state)
{
	static const struct name_case cases[] = {
		{ NULL, -EINVAL, NULL },
		{ "", -EINVAL, NULL },
		{ "/", -EINVAL, NULL },
		{ "//", -EINVAL, NULL },
		{ "//a", -EINVAL, NULL },
		{ "a//b", -EINVAL, NULL },
		{ "a/", -EINVAL, NULL },
		{ "/a/", -EINVAL, NULL },
		{ ".", -EINVAL, NULL },
		{ "..", -EINVAL, NULL },
		{ "/.", -EINVAL, NULL },
		{ "/..", -EINVAL, NULL },
		{ "./a", -EINVAL, NULL },
		{ "../a", -EINVAL, NULL },
		{ "a/.", -EINVAL, NULL },
		{ "a/..", -EINVAL, NULL },
		{ "a/./b", -EINVAL, NULL },
		{ "a/../b", -EINVAL, NULL },
		{ "mshare_info", -EINVAL, NULL },
		{ "/mshare_info", -EINVAL, NULL },
		{ "mshare_info/x", -EINVAL, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
}

/* A name of @len bytes made of components of @comp bytes. */
static char *make_name(size_t len, size_t comp, bool lead)
{
	char *name = malloc(len + 1);
	size_t i;

	assert_non_null(name);
	memset(name, 'n', len);
	for (i = comp; i < len; i += comp + 1)
		name[i] = '/';
	if (lead)
		name[0] = '/';
	name[len] = '\0';
	return name;
}

static void test_lengths(void **state)
{
	const char *rel;
	char *name;

	(void)state;

	/* A component of exactly NAME_MAX bytes is fine... */
	name = make_name(NAME_MAX, NAME_MAX, false);
	assert_int_equal(msh_name_check(name, &rel), 0);
	free(name);
	/* ...one more is not, at the top or deeper. */
	name = make_name(NAME_MAX + 1, NAME_MAX + 1, false);
	assert_int_equal(msh_name_check(name, &rel), -ENAMETOOLONG);
	free(name);
	name = make_name(NAME_MAX + 3, NAME_MAX + 3, false);
	name[1] = '/';
	assert_int_equal(msh_name_check(name, &rel), -ENAMETOOLONG);
	free(name);
	/* "/" + NAME_MAX: the slash is stripped, the rest is fine. */
	name = make_name(NAME_MAX + 1, NAME_MAX + 1, true);
	assert_int_equal(msh_name_check(name, &rel), 0);
	free(name);

	/* Whole name: PATH_MAX - 1 bytes pass, PATH_MAX do not. */
	name = make_name(PATH_MAX - 1, 100, false);
	assert_int_equal(msh_name_check(name, &rel), 0);
	free(name);
	name = make_name(PATH_MAX, 100, false);
	assert_int_equal(msh_name_check(name, &rel), -ENAMETOOLONG);
	free(name);
	name = make_name(PATH_MAX * 4, 100, false);
	assert_int_equal(msh_name_check(name, &rel), -ENAMETOOLONG);
	free(name);
	/* With the leading '/', PATH_MAX bytes leave PATH_MAX - 1. */
	name = make_name(PATH_MAX, 100, true);
	assert_int_equal(msh_name_check(name, &rel), 0);
	free(name);
}

static void test_rel_optional(void **state)
{
	(void)state;
	assert_int_equal(msh_name_check("a", NULL), 0);
	assert_int_equal(msh_name_check("a//", NULL), -EINVAL);
}

static void test_join(void **state)
{
	char buf[16];

	(void)state;
	assert_int_equal(msh_path_join("/m", "x", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/m/x");
	assert_int_equal(msh_path_join("/m/", "x", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/m/x");
	assert_int_equal(msh_path_join("/", "a/b", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/a/b");
	/* "/mount/" + "abcdefgh" + NUL = 16 bytes: fits exactly. */
	assert_int_equal(msh_path_join("/mount", "abcdefgh", buf, 16), 0);
	assert_string_equal(buf, "/mount/abcdefgh");
	assert_int_equal(msh_path_join("/mount", "abcdefghi", buf, 16),
			 -ENAMETOOLONG);
	assert_int_equal(msh_path_join("/mount/", "abcdefghi", buf, 16),
			 -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_einval),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_rel_optional),
		cmocka_unit_test(test_join),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
