/* SPDX-License-Identifier: Apache-2.0 */
/* The syntax mistake of a rejected INI line: a header without ']', a line without '='. */
#include <check.h>
#include <string.h>

#include "fota/ini_hint.h"
#include "testutil.h"

static char tmpdir[256], path[512];

static void setup(void)
{
	tu_tmpdir_make(tmpdir, sizeof(tmpdir), "check_ini_hint");
	tu_path(path, sizeof(path), tmpdir, "x.conf");
	tu_write_text(path, "# comment\n"
			    "[broker\n"
			    "uri = ssl://b:8883\n"
			    "  keepalive 30  \n"
			    "[device]\n"
			    "; note\n"
			    "\n"
			    "id: dev-1\n");
}

static void teardown(void)
{
	tu_tmpdir_remove(tmpdir);
}

static const struct {
	int line;
	const char *why; /* NULL: no syntax mistake on that line */
} cases[] = {
    {1, NULL}, {2, "'[broker' has no closing ']'"},
    {3, NULL}, {4, "'keepalive 30' is neither '[section]' nor 'key = value'"},
    {5, NULL}, {6, NULL},
    {7, NULL}, {8, NULL},
    {9, NULL}, /* past the end */
    {0, NULL},
};

START_TEST(test_hint)
{
	char why[256] = "";
	bool got = fota_ini_syntax_hint(path, cases[_i].line, why, sizeof(why));

	if (cases[_i].why == NULL) {
		ck_assert_msg(!got, "line %d: unexpected '%s'", cases[_i].line, why);
		return;
	}
	ck_assert_msg(got, "line %d: no hint", cases[_i].line);
	ck_assert_str_eq(why, cases[_i].why);
}
END_TEST

START_TEST(test_missing_file)
{
	char why[64] = "";

	ck_assert(!fota_ini_syntax_hint("/nonexistent/x.conf", 1, why, sizeof(why)));
}
END_TEST

static Suite *ini_hint_suite(void)
{
	Suite *s = suite_create("ini_hint");
	TCase *tc = tcase_create("hint");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_hint, 0, TU_N(cases));
	tcase_add_test(tc, test_missing_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run(ini_hint_suite());
}
