/* SPDX-License-Identifier: Apache-2.0 */
/* serve's HTTP endpoints: /metrics (Prometheus), /healthz (the process answers), /readyz
 * (broker connected, store writable) and the API under /api/v1 (api.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "dashboard.h"
#include "endpoints.h"
#include "http.h"
#include "log.h"
#include "metrics.h"

struct orch_endpoints {
	struct orch_daemon *daemon;
	struct orch_store *store; /* the listener thread's own handle */
	struct orch_http *http;
};

/* The store takes a write transaction and its directory takes new files. */
static bool store_writable(struct orch_endpoints *e, char *why, size_t size)
{
	struct fota_error err = {0};

	if (e->store->ops->begin(e->store, &err)) {
		snprintf(why, size, "store: %s", err.msg);
		return false;
	}
	e->store->ops->rollback(e->store);
	if (access(orch_daemon_config(e->daemon)->state_dir, W_OK) != 0) {
		snprintf(why, size, "state directory is not writable");
		return false;
	}
	return true;
}

static void readyz(struct orch_endpoints *e, struct orch_http_response *res)
{
	struct orch_daemon_stats ds;
	/* The broker URI or the store's error, and the words around them. */
	char why[sizeof(((struct orch_config *)0)->uri) + FOTA_ERROR_MSG_MAX] = "";
	bool ok;

	orch_daemon_get_stats(e->daemon, &ds);
	if (ds.phase == ORCH_DAEMON_CONNECTING || ds.phase == ORCH_DAEMON_NEW)
		snprintf(why, sizeof(why), "broker not connected: %s (not reached yet)",
			 orch_daemon_config(e->daemon)->uri);
	else if (ds.phase == ORCH_DAEMON_SUBSCRIBING)
		snprintf(why, sizeof(why), "starting: subscribing to %s",
			 orch_daemon_config(e->daemon)->uri);
	else if (!ds.broker_connected)
		snprintf(why, sizeof(why), "broker not connected: %s (reconnecting)",
			 orch_daemon_config(e->daemon)->uri);
	ok = ds.phase == ORCH_DAEMON_RUNNING && ds.broker_connected &&
	     store_writable(e, why, sizeof(why));
	if (ok) {
		orch_http_reply(res, 200, "text/plain; charset=utf-8", "ready\n");
		return;
	}
	strncat(why, "\n", sizeof(why) - strlen(why) - 1);
	orch_http_reply(res, 503, "text/plain; charset=utf-8", why);
}

static void metrics(struct orch_endpoints *e, struct orch_http_response *res)
{
	struct orch_daemon_stats ds;
	struct fota_error err = {0};

	orch_daemon_get_stats(e->daemon, &ds);
	if (orch_metrics_render(e->store, orch_daemon_fleet(e->daemon), &ds, &res->body, &res->len,
				&err)) {
		orch_fail("metrics", &err);
		orch_http_reply(res, 500, "text/plain; charset=utf-8", "metrics unavailable\n");
		return;
	}
	res->status = 200;
	res->content_type = ORCH_METRICS_CONTENT_TYPE;
}

/* A file of the dashboard, "/" being its page; false if path is none of them. */
static bool dashboard(const char *path, struct orch_http_response *res)
{
	const struct orch_dashboard_file *f;

	if (strcmp(path, "/") == 0)
		path = "/dashboard/index.html";
	for (f = orch_dashboard_files; f->path; f++) {
		if (strcmp(f->path, path) != 0)
			continue;
		res->body = malloc(f->len + 1);
		if (!res->body) {
			orch_http_reply(res, 500, "text/plain; charset=utf-8", "out of memory\n");
			return true;
		}
		memcpy(res->body, f->data, f->len + 1);
		res->len = f->len;
		res->status = 200;
		res->content_type = f->content_type;
		return true;
	}
	return false;
}

static void on_request(void *ctx, const struct orch_http_request *req,
		       struct orch_http_response *res)
{
	struct orch_endpoints *e = ctx;
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

	if (strncmp(req->path, ORCH_API_PREFIX, strlen(ORCH_API_PREFIX)) == 0)
		orch_api_handle(e->store, orch_daemon_config(e->daemon),
				orch_daemon_assigner(e->daemon), req, res);
	else if (strcmp(req->path, "/healthz") == 0 && get)
		orch_http_reply(res, 200, "text/plain; charset=utf-8", "ok\n");
	else if (strcmp(req->path, "/readyz") == 0 && get)
		readyz(e, res);
	else if (strcmp(req->path, "/metrics") == 0 && get)
		metrics(e, res);
	else if (strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/readyz") == 0 ||
		 strcmp(req->path, "/metrics") == 0)
		orch_http_reply(res, 405, "text/plain; charset=utf-8", "only GET\n");
	else if (!(get && dashboard(req->path, res)))
		orch_http_reply(res, 404, "text/plain; charset=utf-8", "not found\n");
}

fota_err orch_endpoints_new(struct orch_daemon *d, struct orch_endpoints **out,
			    struct fota_error *err)
{
	struct orch_endpoints *e = calloc(1, sizeof(*e));
	fota_err rc;

	*out = NULL;
	if (!e)
		return fota_error_set(err, FOTA_ERR_NOMEM, "http: out of memory");
	e->daemon = d;
	rc = orch_open_store(orch_daemon_config(d), &e->store, err);
	if (rc == FOTA_OK)
		rc = orch_http_new(orch_daemon_config(d), on_request, e, &e->http, err);
	if (rc) {
		orch_endpoints_free(e);
		return rc;
	}
	*out = e;
	return FOTA_OK;
}

void orch_endpoints_free(struct orch_endpoints *e)
{
	if (!e)
		return;
	orch_http_free(e->http);
	orch_store_close(e->store);
	free(e);
}
