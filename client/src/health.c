/* SPDX-License-Identifier: Apache-2.0 */
/* Runs commands with a deadline and reports how they ended; the health check is built on it. */
#define _GNU_SOURCE /* pipe2, close_range, dup3 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fota/timeutil.h"
#include "health.h"

extern char **environ;

#define POLL_SLICE_MS 20

/* Resolves a bare name on PATH the way execvp would, but before forking, so "not found" is
 * reported by the parent with the PATH searched. */
static fota_err resolve(const char *name, char *out, size_t len, struct fota_error *err)
{
	const char *path = getenv("PATH"), *p, *end;

	if (strchr(name, '/')) {
		if (snprintf(out, len, "%s", name) >= (int)len)
			return fota_error_set(err, FOTA_ERR_TOO_BIG, "%.64s: path too long", name);
		return FOTA_OK;
	}
	if (path == NULL || path[0] == '\0')
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (p = path; *p; p = *end ? end + 1 : end) {
		size_t dlen;

		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		dlen = (size_t)(end - p);
		if (snprintf(out, len, "%.*s/%s", (int)dlen, dlen ? p : ".", name) >= (int)len)
			continue;
		if (access(out, X_OK) == 0)
			return FOTA_OK;
	}
	return fota_error_set(err, FOTA_ERR_NOT_FOUND, "%s: not found on PATH (%.120s)", name,
			      path);
}

/* Environment for the child: ours, minus the names spec->env overrides, plus spec->env. */
static char **build_env(const char *const *extra)
{
	size_t n = 0, m = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	while (extra && extra[m])
		m++;
	env = calloc(n + m + 1, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		bool overridden = false;

		for (size_t j = 0; j < m && !overridden; j++)
			overridden = strncmp(extra[j], environ[i], nl) == 0 && extra[j][nl] == '=';
		if (!overridden)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < m; j++)
		env[k++] = (char *)(uintptr_t)extra[j];
	return env;
}

/* Pipes whose ends are all >= 3, so the child's dup2 onto 0..2 never clobbers one of them
 * even when the daemon runs with its standard descriptors closed. */
static int pipe_high(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (fds[i] < 3) {
			int hi = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);

			if (hi < 0)
				return -1;
			close(fds[i]);
			fds[i] = hi;
		}
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* In the child between fork and exec: async-signal-safe calls only. */
static void child_exec(const char *path, char *const argv[], char *const envp[], int in_fd,
		       int out_fd, int err_fd, int report_fd)
{
	struct sigaction sa;
	sigset_t none;
	int e;

	setpgid(0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	/* An ignored SIGPIPE would survive exec and confuse every shell pipeline in a hook. */
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		goto fail;
	if (report_fd != 3) {
		if (dup3(report_fd, 3, O_CLOEXEC) < 0)
			goto fail;
	}
	/* The agent's sockets and state files are none of the command's business. */
	if (close_range(4, ~0U, 0) != 0) {
		for (int fd = 4; fd < 1024; fd++)
			close(fd);
	}
	execve(path, argv, envp);
fail:
	e = errno;
	if (write(3, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

static void keep_tail(char *tail, size_t *tail_len, const char *data, size_t n)
{
	if (n >= HEALTH_STDERR_TAIL) {
		memcpy(tail, data + n - HEALTH_STDERR_TAIL, HEALTH_STDERR_TAIL);
		*tail_len = HEALTH_STDERR_TAIL;
		return;
	}
	if (*tail_len + n > HEALTH_STDERR_TAIL) {
		size_t drop = *tail_len + n - HEALTH_STDERR_TAIL;

		memmove(tail, tail + drop, *tail_len - drop);
		*tail_len -= drop;
	}
	memcpy(tail + *tail_len, data, n);
	*tail_len += n;
}

/* Fills err_last and err_all from the raw stderr tail; control characters become spaces so
 * the reason can travel in a status message. */
static void finish_tail(struct run_result *res, const char *tail, size_t n)
{
	size_t i, k = 0, start = 0, last_s = 0, last_e = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || tail[i] == '\n') {
			size_t s = start, e = i;

			while (s < e && (tail[s] == ' ' || tail[s] == '\t' || tail[s] == '\r'))
				s++;
			while (e > s &&
			       (tail[e - 1] == ' ' || tail[e - 1] == '\t' || tail[e - 1] == '\r'))
				e--;
			if (e > s) {
				if (k && k + 2 < HEALTH_STDERR_TAIL) {
					res->err_all[k++] = ';';
					res->err_all[k++] = ' ';
				}
				for (size_t j = s; j < e && k < HEALTH_STDERR_TAIL; j++)
					res->err_all[k++] =
					    (unsigned char)tail[j] < 0x20 ? ' ' : tail[j];
				last_s = s;
				last_e = e;
			}
			start = i + 1;
		}
	}
	res->err_all[k] = '\0';
	k = 0;
	for (i = last_s; i < last_e; i++)
		res->err_last[k++] = (unsigned char)tail[i] < 0x20 ? ' ' : tail[i];
	res->err_last[k] = '\0';
}

/* Reads what is there; returns false at EOF or on a hard error. */
static bool drain(int fd, struct run_result *res, bool is_out, char *tail, size_t *tail_len)
{
	char buf[4096];

	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN;
		if (r == 0)
			return false;
		if (!is_out) {
			keep_tail(tail, tail_len, buf, (size_t)r);
			continue;
		}
		if (res->out_len < HEALTH_MAX_STDOUT) {
			size_t take = (size_t)r;

			if (take > HEALTH_MAX_STDOUT - res->out_len)
				take = HEALTH_MAX_STDOUT - res->out_len;
			memcpy(res->out + res->out_len, buf, take);
			res->out_len += take;
			res->out[res->out_len] = '\0';
		}
	}
}

void run_result_clear(struct run_result *res)
{
	if (res == NULL)
		return;
	free(res->out);
	memset(res, 0, sizeof(*res));
}

void run_result_describe(const struct run_result *res, char *buf, size_t len)
{
	switch (res->end) {
	case RUN_EXITED:
		snprintf(buf, len, "exited with code %d", res->status);
		break;
	case RUN_SIGNALED:
		snprintf(buf, len, "killed by signal %d (%s)", res->status, strsignal(res->status));
		break;
	case RUN_TIMED_OUT:
		snprintf(buf, len, "timed out after %u ms", res->elapsed_ms);
		break;
	case RUN_NOT_STARTED:
	default:
		snprintf(buf, len, "could not start: %s", strerror(res->status));
		break;
	}
}

fota_err health_run(const struct run_spec *spec, struct run_result *res, struct fota_error *err)
{
	char path[PATH_MAX], tail[HEALTH_STDERR_TAIL];
	int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1}, rep_p[2] = {-1, -1};
	int null_fd = -1, wstatus = 0, child_errno = 0;
	char **envp = NULL;
	size_t tail_len = 0, in_off = 0;
	sigset_t pipe_set, old_set;
	bool blocked = false, pipe_was_pending = false;
	int64_t start, deadline;
	pid_t pid = -1;
	fota_err rc = FOTA_OK;
	ssize_t r;

	memset(res, 0, sizeof(*res));
	res->end = RUN_NOT_STARTED;
	res->status = ENOENT;
	if (spec->argv == NULL || spec->argv[0] == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, "no command to run");
	rc = resolve(spec->argv[0], path, sizeof(path), err);
	if (rc != FOTA_OK)
		return rc;
	res->out = malloc(spec->capture_stdout ? HEALTH_MAX_STDOUT + 1 : 1);
	envp = build_env(spec->env);
	if (res->out == NULL || envp == NULL) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "%s: out of memory", spec->argv[0]);
		goto out;
	}
	res->out[0] = '\0';
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0 || pipe_high(err_p) != 0 || pipe_high(rep_p) != 0 ||
	    (spec->capture_stdout && pipe_high(out_p) != 0) ||
	    (spec->input && pipe_high(in_p) != 0)) {
		res->status = errno;
		rc = fota_error_set(err, FOTA_ERR_IO, "%s: cannot set up pipes: %s", spec->argv[0],
				    strerror(errno));
		goto out;
	}
	/* Writing to a hook that already exited must not kill the agent: hold SIGPIPE back in
	 * this thread and swallow it afterwards if we raised it. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set) == 0) {
		sigset_t pending;

		blocked = true;
		sigpending(&pending);
		pipe_was_pending = sigismember(&pending, SIGPIPE) == 1;
	}
	start = fota_time_mono_ms();
	pid = fork();
	if (pid < 0) {
		res->status = errno;
		rc = fota_error_set(err, FOTA_ERR_IO, "%s: fork: %s", spec->argv[0],
				    strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(path, (char *const *)(uintptr_t)spec->argv, envp,
			   spec->input ? in_p[0] : null_fd,
			   spec->capture_stdout ? out_p[1] : null_fd, err_p[1], rep_p[1]);
	/* Also from the parent: a kill on timeout must find the group even if the child has
	 * not run yet. */
	setpgid(pid, pid);
	close_fd(&in_p[0]);
	close_fd(&out_p[1]);
	close_fd(&err_p[1]);
	close_fd(&rep_p[1]);
	do
		r = read(rep_p[0], &child_errno, sizeof(child_errno));
	while (r < 0 && errno == EINTR);
	if (r == (ssize_t)sizeof(child_errno)) {
		waitpid(pid, NULL, 0);
		pid = -1;
		res->status = child_errno;
		rc = fota_error_set(err, child_errno == ENOENT ? FOTA_ERR_NOT_FOUND : FOTA_ERR_IO,
				    "%s: cannot execute %s: %s", spec->argv[0], path,
				    strerror(child_errno));
		goto out;
	}
	if (in_p[1] >= 0)
		fcntl(in_p[1], F_SETFL, O_NONBLOCK);
	if (out_p[0] >= 0)
		fcntl(out_p[0], F_SETFL, O_NONBLOCK);
	fcntl(err_p[0], F_SETFL, O_NONBLOCK);
	if (in_p[1] >= 0 && spec->input_len == 0)
		close_fd(&in_p[1]);

	deadline = start + (int64_t)spec->timeout_ms;
	for (;;) {
		struct pollfd pf[3];
		nfds_t n = 0;
		int64_t now = fota_time_mono_ms();
		int slice;
		pid_t w;

		w = waitpid(pid, &wstatus, WNOHANG);
		if (w == pid) {
			pid = -1;
			break;
		}
		if (now >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &wstatus, 0);
			pid = -1;
			res->end = RUN_TIMED_OUT;
			res->status = SIGKILL;
			break;
		}
		if (in_p[1] >= 0)
			pf[n++] = (struct pollfd){.fd = in_p[1], .events = POLLOUT};
		if (out_p[0] >= 0)
			pf[n++] = (struct pollfd){.fd = out_p[0], .events = POLLIN};
		if (err_p[0] >= 0)
			pf[n++] = (struct pollfd){.fd = err_p[0], .events = POLLIN};
		slice = deadline - now < POLL_SLICE_MS ? (int)(deadline - now) : POLL_SLICE_MS;
		if (poll(pf, n, slice) < 0 && errno != EINTR) {
			rc = fota_error_set(err, FOTA_ERR_IO, "%s: poll: %s", spec->argv[0],
					    strerror(errno));
			goto out;
		}
		if (in_p[1] >= 0) {
			r = write(in_p[1], spec->input + in_off, spec->input_len - in_off);
			if (r > 0)
				in_off += (size_t)r;
			if ((r < 0 && errno != EAGAIN && errno != EINTR) ||
			    in_off == spec->input_len)
				close_fd(&in_p[1]);
		}
		if (out_p[0] >= 0 && !drain(out_p[0], res, true, tail, &tail_len))
			close_fd(&out_p[0]);
		if (err_p[0] >= 0 && !drain(err_p[0], res, false, tail, &tail_len))
			close_fd(&err_p[0]);
	}
	/* What the command wrote before it ended is in the pipes; a leftover grandchild that
	 * keeps them open must not hold us up, so read only what is there now. */
	if (out_p[0] >= 0)
		drain(out_p[0], res, true, tail, &tail_len);
	if (err_p[0] >= 0)
		drain(err_p[0], res, false, tail, &tail_len);
	finish_tail(res, tail, tail_len);
	res->elapsed_ms = (unsigned)(fota_time_mono_ms() - start);
	if (res->end == RUN_TIMED_OUT) {
		rc = fota_error_set(err, FOTA_ERR_TIMEOUT,
				    "%s timed out after %u ms: process group killed", spec->argv[0],
				    res->elapsed_ms);
	} else if (WIFSIGNALED(wstatus)) {
		res->end = RUN_SIGNALED;
		res->status = WTERMSIG(wstatus);
	} else {
		res->end = RUN_EXITED;
		res->status = WEXITSTATUS(wstatus);
	}
out:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (blocked) {
		sigset_t pending;
		struct timespec zero = {0, 0};

		sigpending(&pending);
		if (!pipe_was_pending && sigismember(&pending, SIGPIPE) == 1)
			sigtimedwait(&pipe_set, NULL, &zero);
		pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	}
	close_fd(&null_fd);
	close_fd(&in_p[0]);
	close_fd(&in_p[1]);
	close_fd(&out_p[0]);
	close_fd(&out_p[1]);
	close_fd(&err_p[0]);
	close_fd(&err_p[1]);
	close_fd(&rep_p[0]);
	close_fd(&rep_p[1]);
	free(envp);
	return rc;
}

const char *health_status_name(enum health_status s)
{
	switch (s) {
	case HEALTH_PASSED:
		return "passed";
	case HEALTH_FAILED:
		return "failed";
	case HEALTH_TIMED_OUT:
		return "timed out";
	case HEALTH_NOT_STARTED:
	default:
		return "could not start";
	}
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

enum health_status health_check(const char *cmdline, unsigned timeout_ms, struct health_report *rep,
				struct fota_error *err)
{
	char words[1024], how[128];
	const char *argv[HEALTH_MAX_ARGS + 1];
	struct health_report local;
	struct run_result res;
	struct run_spec spec;
	size_t argc = 0;
	char *save = NULL, *tok;
	fota_err rc;

	if (rep == NULL)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	rep->status = HEALTH_NOT_STARTED;
	rep->exit_code = -1;
	if (cmdline == NULL ||
	    snprintf(words, sizeof(words), "%s", cmdline) >= (int)sizeof(words)) {
		fota_error_set(err, FOTA_ERR_INVAL, "health check command missing or too long");
		return rep->status;
	}
	if (strpbrk(words, "'\"\\")) {
		fota_error_set(err, FOTA_ERR_INVAL,
			       "health check command has quotes or backslashes: no shell runs "
			       "it, wrap it in a script");
		return rep->status;
	}
	for (tok = strtok_r(words, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		if (argc == HEALTH_MAX_ARGS) {
			fota_error_set(err, FOTA_ERR_INVAL,
				       "health check command has more than %d words",
				       HEALTH_MAX_ARGS);
			return rep->status;
		}
		argv[argc++] = tok;
	}
	argv[argc] = NULL;
	if (argc == 0) {
		fota_error_set(err, FOTA_ERR_INVAL, "health check command is empty");
		return rep->status;
	}
	memset(&spec, 0, sizeof(spec));
	spec.argv = argv;
	spec.timeout_ms = timeout_ms ? timeout_ms : HEALTH_DEFAULT_TIMEOUT_MS;
	rc = health_run(&spec, &res, err);
	rep->elapsed_ms = res.elapsed_ms;
	if (rc == FOTA_ERR_TIMEOUT) {
		rep->status = HEALTH_TIMED_OUT;
		rep->signal = SIGKILL;
		fota_error_set(err, FOTA_ERR_TIMEOUT,
			       "health check '%s' timed out after %u ms (limit %u ms), killed",
			       base_name(argv[0]), res.elapsed_ms, spec.timeout_ms);
	} else if (rc != FOTA_OK) {
		fota_error_prefix(err, "health check could not start");
	} else if (res.end == RUN_EXITED && res.status == 0) {
		rep->status = HEALTH_PASSED;
		rep->exit_code = 0;
	} else {
		rep->status = HEALTH_FAILED;
		if (res.end == RUN_EXITED)
			rep->exit_code = res.status;
		else
			rep->signal = res.status;
		run_result_describe(&res, how, sizeof(how));
		fota_error_set(err, FOTA_ERR_STATE, "health check '%s' failed: %s%s%.120s",
			       base_name(argv[0]), how, res.err_last[0] ? ": " : "", res.err_last);
	}
	run_result_clear(&res);
	return rep->status;
}
