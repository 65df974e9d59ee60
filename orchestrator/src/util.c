/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers every subcommand shares: error-to-exit-code mapping, the --help and configuration
 * steps of option handling, JSON output. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cmd.h"
#include "config.h"

int orch_exit_for(fota_err code)
{
	switch (code) {
	case FOTA_OK:
		return ORCH_EXIT_OK;
	case FOTA_ERR_MQTT:
		return ORCH_EXIT_BROKER;
	case FOTA_ERR_TIMEOUT:
		return ORCH_EXIT_TIMEOUT;
	case FOTA_ERR_NOT_FOUND:
		return ORCH_EXIT_NOT_FOUND;
	case FOTA_ERR_STATE:
		return ORCH_EXIT_STATE;
	default:
		return ORCH_EXIT_FAIL;
	}
}

bool orch_cli_help(const struct orch_config *cfg, const char *usage)
{
	if (!cfg->help)
		return false;
	fputs(usage, stdout);
	fputs(orch_config_help, stdout);
	return true;
}

static int cli_argc;
static char **cli_argv;

void orch_cli_remember(int argc, char **argv)
{
	cli_argc = argc;
	cli_argv = argv;
}

/* Appends word to line, in single quotes unless it is plainly safe for a shell. */
static void append_word(char *line, size_t size, const char *word)
{
	size_t n = strlen(line);
	bool plain = *word && strspn(word, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					   "0123456789_./=:,@%+-") == strlen(word);

	if (plain) {
		snprintf(line + n, size - n, " %s", word);
		return;
	}
	n += (size_t)snprintf(line + n, size - n, " '");
	for (; *word && n + 5 < size; word++)
		n += (size_t)(*word == '\'' ? snprintf(line + n, size - n, "'\\''")
					    : snprintf(line + n, size - n, "%c", *word));
	snprintf(line + n, size - n, "'");
}

static const char *user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "#%lu", (unsigned long)uid);
	return buf;
}

/* A missing state directory is fine: whoever runs first creates and owns it. */
static fota_err check_state_owner(const struct orch_config *cfg, struct fota_error *err)
{
	char owner[64], me[64], line[4096];
	struct stat st;
	uid_t uid = geteuid();

	if (cfg->stateless || stat(cfg->state_dir, &st) != 0 || st.st_uid == uid)
		return FOTA_OK;
	user_name(st.st_uid, owner, sizeof(owner));
	fota_error_set(err, FOTA_ERR_STATE,
		       "state directory %s belongs to user %s (uid %lu), not to %s (uid %lu); "
		       "files this command wrote there would lock the daemon out",
		       cfg->state_dir, owner, (unsigned long)st.st_uid,
		       user_name(uid, me, sizeof(me)), (unsigned long)uid);
	orch_log("%s", err->msg);
	snprintf(line, sizeof(line), "sudo -u %s", owner);
	for (int i = 0; i < cli_argc; i++)
		append_word(line, sizeof(line), cli_argv[i]);
	orch_log("run it as that user: %s", line);
	return FOTA_ERR_STATE;
}

fota_err orch_cli_load_config(struct orch_config *cfg, struct fota_error *err)
{
	fota_err rc = orch_config_load(cfg, err);

	if (rc) {
		orch_fail("configuration", err);
		return rc;
	}
	orch_log_set_level(cfg->log_level);
	return check_state_owner(cfg, err);
}

void orch_print_json(const struct cJSON *o, const char *fallback)
{
	char *text = cJSON_Print(o);

	if (text || fallback)
		printf("%s\n", text ? text : fallback);
	free(text);
}
