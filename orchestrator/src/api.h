/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the JSON API under /api/v1 (docs/api.md) and the roles
 * that client certificates carry. */
#ifndef ORCH_API_H
#define ORCH_API_H

#include <stdbool.h>

#include "config.h"
#include "http.h"
#include "store.h"

#define ORCH_API_PREFIX "/api/v1/"

enum orch_role {
	ORCH_ROLE_NONE = 0,
	ORCH_ROLE_VIEWER,	   /* reads */
	ORCH_ROLE_OPERATOR,	   /* + start, pause, resume, abort, retry */
	ORCH_ROLE_RELEASE_MANAGER, /* + create campaigns, set a device's groups */
};

/* The role a certificate's OU names: "viewer", "operator" or "release-manager". */
enum orch_role orch_role_from_ou(const char *ou);
const char *orch_role_name(enum orch_role r);

struct orch_assigner;

/* Answers req (its path starts with ORCH_API_PREFIX) from store st, a handle of the calling
 * thread; cfg locates the image store; assignments go through assigner (NULL while the
 * daemon's broker session is not up). */
void orch_api_handle(struct orch_store *st, const struct orch_config *cfg,
		     struct orch_assigner *assigner, const struct orch_http_request *req,
		     struct orch_http_response *res);

#endif
