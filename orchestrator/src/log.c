/* SPDX-License-Identifier: Apache-2.0 */
/* Levelled log lines on stderr; journald priority prefixes when stderr is the journal. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Read on every line from every thread; a plain int store is atomic enough for a filter, and
 * C11 atomics keep the sanitizers quiet. */
static _Atomic int log_level = ORCH_LOG_DEFAULT;
static _Atomic bool log_journal;

static const struct {
	const char *name;
	enum orch_log_level level;
} levels[] = {
    {"error", ORCH_LOG_ERROR}, {"warning", ORCH_LOG_WARNING}, {"notice", ORCH_LOG_NOTICE},
    {"info", ORCH_LOG_INFO},   {"debug", ORCH_LOG_DEBUG},
};

void orch_log_set_level(enum orch_log_level level)
{
	log_level = (int)level;
}

enum orch_log_level orch_log_level(void)
{
	return (enum orch_log_level)log_level;
}

fota_err orch_log_level_parse(const char *s, enum orch_log_level *out, struct fota_error *err)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(s, levels[i].name) == 0) {
			*out = levels[i].level;
			return FOTA_OK;
		}
	}
	return fota_error_set(err, FOTA_ERR_FIELD,
			      "log_level: '%s' is not one of error, warning, notice, info, debug",
			      s);
}

const char *orch_log_level_name(enum orch_log_level level)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (levels[i].level == level)
			return levels[i].name;
	return "?";
}

void orch_log_set_journal(bool on)
{
	log_journal = on;
}

/* systemd sets JOURNAL_STREAM to the device and inode of the journal socket it connected to
 * stderr; a child whose stderr was redirected elsewhere inherits the variable but not the
 * socket, hence the comparison (sd-daemon(3), systemd.exec(5)). */
bool orch_log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void orch_log_at(enum orch_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if ((int)level > log_level)
		return;
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%d>fota-orchestrator: ", (int)level);
	else
		n = snprintf(line, sizeof(line), "fota-orchestrator: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}

void orch_fail(const char *what, const struct fota_error *err)
{
	if (err && err->msg[0])
		orch_error("%s: %s", what, err->msg);
	else if (err)
		orch_error("%s: %s", what, fota_strerror(err->code));
	else
		orch_error("%s", what);
}
