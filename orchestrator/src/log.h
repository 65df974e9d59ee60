/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: levelled log lines on stderr, with journald priority
 * prefixes when stderr is the journal. Every part of the orchestrator logs through this. */
#ifndef ORCH_LOG_H
#define ORCH_LOG_H

#include <stdbool.h>

#include "fota/error.h"

/* The syslog priorities, so a line's level is also its journald priority. */
enum orch_log_level {
	ORCH_LOG_ERROR = 3,
	ORCH_LOG_WARNING = 4,
	ORCH_LOG_NOTICE = 5,
	ORCH_LOG_INFO = 6,
	ORCH_LOG_DEBUG = 7,
};

#define ORCH_LOG_DEFAULT ORCH_LOG_INFO

/* Lines above level are dropped. Thread-safe; takes effect for the next line. */
void orch_log_set_level(enum orch_log_level level);
enum orch_log_level orch_log_level(void);

/* "error", "warning", "notice", "info" or "debug"; FOTA_ERR_FIELD naming the choices. */
fota_err orch_log_level_parse(const char *s, enum orch_log_level *out, struct fota_error *err);
const char *orch_log_level_name(enum orch_log_level level);

/* Prefix every line with "<N>" (its priority), as systemd-journald reads stderr. Set from
 * orch_log_detect_journal() at start; tests may force it. */
void orch_log_set_journal(bool on);
/* True if stderr is the stream systemd named in $JOURNAL_STREAM (device:inode). */
bool orch_log_stderr_is_journal(void);

/* "fota-orchestrator: <message>" on stderr at level, one write per line so threads do not
 * interleave. */
void orch_log_at(enum orch_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Shorthands for the levels. orch_log is info. */
#define orch_error(...) orch_log_at(ORCH_LOG_ERROR, __VA_ARGS__)
#define orch_warn(...) orch_log_at(ORCH_LOG_WARNING, __VA_ARGS__)
#define orch_notice(...) orch_log_at(ORCH_LOG_NOTICE, __VA_ARGS__)
#define orch_log(...) orch_log_at(ORCH_LOG_INFO, __VA_ARGS__)
#define orch_debug(...) orch_log_at(ORCH_LOG_DEBUG, __VA_ARGS__)

/* "<what failed>: <why>" at error level. */
void orch_fail(const char *what, const struct fota_error *err);

#endif
