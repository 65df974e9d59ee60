/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the HTTP(S) listener of `serve` (GNU libmicrohttpd),
 * which checks client certificates and hands each complete request to one handler. */
#ifndef ORCH_HTTP_H
#define ORCH_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "fota/error.h"

#include "config.h"

/* Request bodies above this are refused with 413 before they are read. */
#define ORCH_HTTP_MAX_BODY (64u * 1024u)
/* Client certificate CN and OU longer than this are refused. */
#define ORCH_HTTP_MAX_NAME 128

struct orch_http_request {
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* without the query string */
	const char *body;   /* NUL-terminated; "" without a body */
	size_t body_len;
	/* The verified client certificate's subject CN and first OU; "" on plain HTTP or when
	 * the certificate has none. */
	const char *client_cn;
	const char *client_ou;
	/* No client certificates are asked for: plain HTTP or TLS without [http] ca, which
	 * orch_http_check allows on loopback only. */
	bool local;
};

struct orch_http_response {
	unsigned status;
	const char *content_type; /* static string */
	char *body;		  /* malloc'd; the listener frees it */
	size_t len;
};

/* Called on the listener's one thread, one request at a time. */
typedef void (*orch_http_handler)(void *ctx, const struct orch_http_request *req,
				  struct orch_http_response *res);

/* The [http] settings before anything starts: listen is HOST:PORT or [IPv6]:PORT; cert and
 * key go together; an address that is not loopback needs cert, key and ca (client
 * certificates). FOTA_ERR_FIELD naming the key. */
fota_err orch_http_check(const struct orch_config *cfg, struct fota_error *err);

struct orch_http;

/* Listens on cfg's [http] listen (after orch_http_check); with [http] cert and key it speaks
 * TLS, and with [http] ca only clients whose certificate that CA signed get an answer (others
 * get 403). ctx must outlive the listener. */
fota_err orch_http_new(const struct orch_config *cfg, orch_http_handler handler, void *ctx,
		       struct orch_http **out, struct fota_error *err);
/* Stops listening, waits for the request being handled and frees; NULL is a no-op. */
void orch_http_free(struct orch_http *h);

/* res->body = a copy of text, res->status and res->content_type set; false when out of
 * memory (then 500 with no body). */
bool orch_http_reply(struct orch_http_response *res, unsigned status, const char *content_type,
		     const char *text);

#endif
