/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: subcommand entry points, exit codes and the
 * helpers of option handling. */
#ifndef ORCH_CMD_H
#define ORCH_CMD_H

#include <signal.h>
#include <stdbool.h>

#include "fota/error.h"

#include "log.h"
#include "stop.h"

/* Exit codes are part of the CLI contract (docs/orchestrator.md). */
enum orch_exit {
	ORCH_EXIT_OK = 0,
	ORCH_EXIT_FAIL = 1,	 /* an operation or a device failed */
	ORCH_EXIT_USAGE = 2,	 /* bad command line or configuration */
	ORCH_EXIT_TIMEOUT = 3,	 /* a wait ran out of time */
	ORCH_EXIT_BROKER = 4,	 /* could not connect to (or lost) the broker */
	ORCH_EXIT_NOT_FOUND = 5, /* a named campaign, device or image does not exist */
	ORCH_EXIT_STATE = 6,	 /* not allowed in the campaign's state (resume a completed one) */
	ORCH_EXIT_INTERRUPTED = 130, /* SIGINT/SIGTERM ended a wait or a copy (128 + SIGINT) */
};

int orch_cmd_image(int argc, char **argv);
int orch_cmd_publish(int argc, char **argv);
int orch_cmd_serve(int argc, char **argv);
int orch_cmd_status(int argc, char **argv);
int orch_cmd_campaign(int argc, char **argv);
int orch_cmd_device(int argc, char **argv);

struct orch_config;
/* Maps an error code to the exit code a script should see. */
int orch_exit_for(fota_err code);

/* After option parsing: with --help prints usage and the shared options' help on stdout and
 * returns true (the command then exits ORCH_EXIT_OK). */
bool orch_cli_help(const struct orch_config *cfg, const char *usage);
/* orch_config_load, logging "configuration: <why>" when it fails (ORCH_EXIT_USAGE). Then
 * refuses (FOTA_ERR_STATE, logged with the command line to use instead) to run as a user other
 * than the owner of an existing state directory: files another user (root) leaves there lock
 * the daemon out. */
fota_err orch_cli_load_config(struct orch_config *cfg, struct fota_error *err);
/* The command line as typed, for the advice orch_cli_load_config gives. */
void orch_cli_remember(int argc, char **argv);

struct cJSON;
/* o as indented JSON and a newline on stdout; fallback instead when printing fails (out of
 * memory), nothing if fallback is NULL. */
void orch_print_json(const struct cJSON *o, const char *fallback);

#endif
