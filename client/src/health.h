/* SPDX-License-Identifier: Apache-2.0 */
/* Private header: run a command under a deadline (health checks, install hooks, boot tools). */
#ifndef FOTA_CLIENT_HEALTH_H
#define FOTA_CLIENT_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "fota/error.h"
#include "fota/limits.h"

/* Captured stdout beyond this is read and dropped (a boot environment dump fits easily). */
#define HEALTH_MAX_STDOUT (256 * 1024)
/* Only the tail of stderr is kept: the reason a tool gives is in its last lines. */
#define HEALTH_STDERR_TAIL 512
/* Words in a configured health-check command line. */
#define HEALTH_MAX_ARGS 16
#define HEALTH_DEFAULT_TIMEOUT_MS 30000u

enum run_end {
	RUN_EXITED,	 /* status = exit code */
	RUN_SIGNALED,	 /* status = signal number */
	RUN_TIMED_OUT,	 /* deadline passed; the whole process group was killed */
	RUN_NOT_STARTED, /* status = errno of the failed lookup or exec */
};

struct run_spec {
	const char *const *argv; /* argv[0]: a path, or a name looked up on PATH */
	const char *const *env;	 /* "NAME=value" added to (overriding) the inherited env; or NULL */
	const char *input;	 /* written to the command's stdin; NULL: stdin is /dev/null */
	size_t input_len;
	bool capture_stdout; /* false: stdout goes to /dev/null */
	unsigned timeout_ms;
};

struct run_result {
	enum run_end end;
	int status;
	char *out; /* captured stdout, NUL-terminated, malloc'd (run_result_clear frees) */
	size_t out_len;
	char err_last[HEALTH_STDERR_TAIL + 1]; /* last non-empty stderr line */
	char err_all[HEALTH_STDERR_TAIL + 1];  /* stderr tail, lines joined with "; " */
	unsigned elapsed_ms;
};

/*
 * Runs spec->argv without a shell in its own process group, closes every other descriptor
 * and resets SIGPIPE and the signal mask for it. On the deadline the process group gets
 * SIGKILL. res is filled in every case. Returns FOTA_OK when the command ran to an end
 * (whatever its exit code or signal), FOTA_ERR_TIMEOUT on the deadline, FOTA_ERR_NOT_FOUND
 * or FOTA_ERR_IO when it could not start, FOTA_ERR_NOMEM; err says which command and why.
 */
fota_err health_run(const struct run_spec *spec, struct run_result *res, struct fota_error *err);
void run_result_clear(struct run_result *res);

/* "exited with code 3", "killed by signal 9 (Killed)", "timed out after 1000 ms", ... */
void run_result_describe(const struct run_result *res, char *buf, size_t len);

enum health_status {
	HEALTH_PASSED = 0,
	HEALTH_FAILED,	    /* non-zero exit or killed by a signal: FOTA_ERR_STATE */
	HEALTH_TIMED_OUT,   /* FOTA_ERR_TIMEOUT */
	HEALTH_NOT_STARTED, /* FOTA_ERR_NOT_FOUND, FOTA_ERR_IO or FOTA_ERR_INVAL (bad cmdline) */
};

struct health_report {
	enum health_status status;
	int exit_code; /* -1 unless it exited */
	int signal;    /* 0 unless it was killed by a signal (a timeout reports SIGKILL) */
	unsigned elapsed_ms;
};

/*
 * Runs a configured health check: cmdline is split on blanks (no shell, no quoting: wrap
 * anything fancier in a script). Exit 0 within timeout_ms is HEALTH_PASSED; anything else
 * sets err with the reason, e.g. "health check 'check.sh' failed: exited with code 2: no
 * route to host". rep may be NULL.
 */
enum health_status health_check(const char *cmdline, unsigned timeout_ms, struct health_report *rep,
				struct fota_error *err);

const char *health_status_name(enum health_status s);

#endif
