/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP(S) listener of `serve` on GNU libmicrohttpd: address and TLS settings, client
 * certificate verification, bounded request bodies, one handler for complete requests. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "http.h"
#include "log.h"

/* PEM files of the listener: a certificate chain or a CA bundle is far below this. */
#define PEM_MAX (256u * 1024u)
#define CONNECTION_LIMIT 64u
#define CONNECTION_TIMEOUT_S 10u

struct orch_http {
	struct MHD_Daemon *mhd;
	orch_http_handler handler;
	void *ctx;
	bool tls;
	bool verify_clients;
	char *pem_cert, *pem_key, *pem_ca;
};

/* One request while its body arrives. */
struct pending {
	char *body;
	size_t len;
	bool too_big;
};

/* "HOST:PORT" or "[V6]:PORT" into host and port. */
static fota_err split_listen(const char *listen, char *host, size_t hsize, char *port, size_t psize,
			     struct fota_error *err)
{
	const char *colon, *h = listen;
	size_t hl;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');

		if (!close || close[1] != ':')
			goto bad;
		h = listen + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			goto bad;
		hl = (size_t)(colon - listen);
	}
	if (hl == 0 || hl >= hsize || strlen(colon + 1) == 0 || strlen(colon + 1) >= psize ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, psize, "%s", colon + 1);
	return FOTA_OK;
bad:
	return fota_error_set(err, FOTA_ERR_FIELD,
			      "[http] listen '%s': expected HOST:PORT or [IPv6]:PORT", listen);
}

static fota_err resolve(const char *listen, struct addrinfo **out, struct fota_error *err)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	char host[256], port[8];
	int rc;

	if (split_listen(listen, host, sizeof(host), port, sizeof(port), err))
		return FOTA_ERR_FIELD;
	rc = getaddrinfo(host, port, &hints, out);
	if (rc)
		return fota_error_set(err, FOTA_ERR_FIELD, "[http] listen '%s': %s", listen,
				      gai_strerror(rc));
	return FOTA_OK;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

fota_err orch_http_check(const struct orch_config *cfg, struct fota_error *err)
{
	struct addrinfo *ai = NULL;
	bool loopback;

	if (!cfg->http_listen[0])
		return FOTA_OK;
	if (resolve(cfg->http_listen, &ai, err))
		return FOTA_ERR_FIELD;
	loopback = is_loopback(ai->ai_addr);
	freeaddrinfo(ai);
	if (!cfg->http_cert[0] != !cfg->http_key[0])
		return fota_error_set(err, FOTA_ERR_FIELD, "[http] cert and key go together");
	if (cfg->http_ca[0] && !cfg->http_cert[0])
		return fota_error_set(err, FOTA_ERR_FIELD,
				      "[http] ca checks client certificates over TLS: set [http] "
				      "cert and key too");
	/* Metrics and the campaigns' state are for operators only; off the host, only a client
	 * certificate says who asks. */
	if (!loopback && (!cfg->http_cert[0] || !cfg->http_ca[0]))
		return fota_error_set(
		    err, FOTA_ERR_FIELD,
		    "[http] listen %s is not a loopback address: set [http] cert, "
		    "key and ca (TLS with client certificates)",
		    cfg->http_listen);
	return FOTA_OK;
}

static fota_err read_pem(const char *what, const char *path, char **out, struct fota_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n;

	if (!f)
		return fota_error_set(err, FOTA_ERR_FIELD, "[http] %s %s: cannot read it", what,
				      path);
	buf = malloc(PEM_MAX + 1);
	if (!buf) {
		fclose(f);
		return fota_error_set(err, FOTA_ERR_NOMEM, "[http] %s: out of memory", what);
	}
	n = fread(buf, 1, PEM_MAX + 1, f);
	fclose(f);
	if (n == 0 || n > PEM_MAX) {
		free(buf);
		return fota_error_set(err, FOTA_ERR_FIELD, "[http] %s %s: empty or over %u bytes",
				      what, path, PEM_MAX);
	}
	buf[n] = '\0';
	*out = buf;
	return FOTA_OK;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	orch_debug("http: %s", line);
}

/* One attribute of a subject: "" if absent, false if it does not fit. */
static bool subject_attr(gnutls_x509_crt_t crt, const char *oid, char *out, size_t size)
{
	size_t len = size;
	int rc = gnutls_x509_crt_get_dn_by_oid(crt, oid, 0, 0, out, &len);

	if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
		out[0] = '\0';
		return true;
	}
	return rc >= 0;
}

/* The CN and OU of the client's certificate if the CA verified it; false otherwise. */
static bool verified_client(struct MHD_Connection *conn, char *cn, char *ou, size_t size)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t crt = NULL;
	unsigned status = 0, n = 0;
	bool ok = false;

	if (!ci || !ci->tls_session)
		return false;
	if (gnutls_certificate_verify_peers2(ci->tls_session, &status) < 0 || status != 0)
		return false;
	certs = gnutls_certificate_get_peers(ci->tls_session, &n);
	if (!certs || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return false;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) >= 0 &&
	    subject_attr(crt, GNUTLS_OID_X520_COMMON_NAME, cn, size) &&
	    subject_attr(crt, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, ou, size))
		ok = true;
	gnutls_x509_crt_deinit(crt);
	return ok;
}

static enum MHD_Result respond(struct MHD_Connection *conn, struct orch_http_response *res)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(res->len, res->body ? res->body : (char *)"",
					    res->body ? MHD_RESPMEM_MUST_FREE
						      : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(res->body);
		return MHD_NO;
	}
	res->body = NULL;
	if (res->content_type)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(conn, res->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_size, void **state)
{
	struct orch_http *h = cls;
	struct pending *p = *state;
	struct orch_http_response res = {0};
	struct orch_http_request req = {0};
	char cn[ORCH_HTTP_MAX_NAME] = "", ou[ORCH_HTTP_MAX_NAME] = "";

	(void)version;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return MHD_NO;
		*state = p;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!p->too_big && p->len + *upload_size <= ORCH_HTTP_MAX_BODY) {
			char *b = realloc(p->body, p->len + *upload_size + 1);

			if (!b)
				return MHD_NO;
			memcpy(b + p->len, upload_data, *upload_size);
			p->body = b;
			p->len += *upload_size;
			p->body[p->len] = '\0';
		} else {
			p->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (h->verify_clients && !verified_client(conn, cn, ou, sizeof(cn))) {
		orch_http_reply(&res, 403, "application/json",
				"{\"error\":\"a client certificate signed by the [http] ca is "
				"required\"}\n");
		return respond(conn, &res);
	}
	if (p->too_big) {
		orch_http_reply(&res, 413, "application/json",
				"{\"error\":\"request body over 65536 bytes\"}\n");
		return respond(conn, &res);
	}
	req.method = method;
	req.path = url;
	req.body = p->body ? p->body : "";
	req.body_len = p->len;
	req.client_cn = cn;
	req.local = !h->verify_clients;
	req.client_ou = ou;
	h->handler(h->ctx, &req, &res);
	if (!res.status)
		orch_http_reply(&res, 500, "application/json", "{\"error\":\"no answer\"}\n");
	return respond(conn, &res);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
			 enum MHD_RequestTerminationCode why)
{
	struct pending *p = *state;

	(void)cls;
	(void)conn;
	(void)why;
	if (p) {
		free(p->body);
		free(p);
		*state = NULL;
	}
}

bool orch_http_reply(struct orch_http_response *res, unsigned status, const char *content_type,
		     const char *text)
{
	free(res->body);
	res->len = strlen(text);
	res->body = malloc(res->len + 1);
	if (!res->body) {
		res->status = 500;
		res->content_type = NULL;
		res->len = 0;
		return false;
	}
	memcpy(res->body, text, res->len + 1);
	res->status = status;
	res->content_type = content_type;
	return true;
}

fota_err orch_http_new(const struct orch_config *cfg, orch_http_handler handler, void *ctx,
		       struct orch_http **out, struct fota_error *err)
{
	struct orch_http *h = NULL;
	struct addrinfo *ai = NULL;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	/* TLS options only with MHD_USE_TLS: libmicrohttpd refuses them otherwise. */
	struct MHD_OptionItem tls[4];
	size_t n = 0;
	fota_err rc;

	*out = NULL;
	rc = orch_http_check(cfg, err);
	if (rc == FOTA_OK)
		rc = resolve(cfg->http_listen, &ai, err);
	if (rc)
		return rc;
	h = calloc(1, sizeof(*h));
	if (!h) {
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "http: out of memory");
		goto out;
	}
	h->handler = handler;
	h->ctx = ctx;
	h->tls = cfg->http_cert[0] != '\0';
	h->verify_clients = cfg->http_ca[0] != '\0';
	if (h->tls && (read_pem("cert", cfg->http_cert, &h->pem_cert, err) ||
		       read_pem("key", cfg->http_key, &h->pem_key, err) ||
		       (h->verify_clients && read_pem("ca", cfg->http_ca, &h->pem_ca, err)))) {
		rc = err->code;
		goto out;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (h->tls)
		flags |= MHD_USE_TLS;
	if (h->tls) {
		tls[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, h->pem_cert};
		tls[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, h->pem_key};
	}
	if (h->verify_clients)
		tls[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, h->pem_ca};
	tls[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	h->mhd = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_CONNECTION_LIMIT,
	    CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (!h->mhd) {
		rc = fota_error_set(
		    err, FOTA_ERR_IO, "cannot listen on %s%s", cfg->http_listen,
		    h->tls ? " (or the [http] cert and key do not make a TLS server)" : "");
		goto out;
	}
	orch_log("http: listening on %s%s", cfg->http_listen,
		 h->verify_clients ? " (TLS, client certificates)"
		 : h->tls	   ? " (TLS)"
				   : "");
	*out = h;
	h = NULL;
out:
	freeaddrinfo(ai);
	orch_http_free(h);
	return rc;
}

void orch_http_free(struct orch_http *h)
{
	if (!h)
		return;
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	free(h->pem_cert);
	if (h->pem_key) {
		memset(h->pem_key, 0, strlen(h->pem_key));
		free(h->pem_key);
	}
	free(h->pem_ca);
	free(h);
}
