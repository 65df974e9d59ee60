/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the fleet dashboard's static files, built into serve
 * from orchestrator/dashboard (dashboard/embed.cmake). */
#ifndef ORCH_DASHBOARD_H
#define ORCH_DASHBOARD_H

#include <stddef.h>

struct orch_dashboard_file {
	const char *path; /* "/dashboard/index.html" */
	const char *content_type;
	const unsigned char *data;
	size_t len;
};

/* Ends with an entry whose path is NULL. */
extern const struct orch_dashboard_file orch_dashboard_files[];

#endif
