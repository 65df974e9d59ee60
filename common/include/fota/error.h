/* SPDX-License-Identifier: Apache-2.0 */
/* One error enum for the whole project plus a detail struct that says *why*. */
#ifndef FOTA_ERROR_H
#define FOTA_ERROR_H

#include <stddef.h>

typedef enum fota_err {
	FOTA_OK = 0,
	FOTA_ERR_NOMEM,	       /* allocation failed */
	FOTA_ERR_INVAL,	       /* caller passed something invalid */
	FOTA_ERR_TOO_BIG,      /* input exceeds a documented limit */
	FOTA_ERR_PARSE,	       /* malformed JSON / base64 / frame */
	FOTA_ERR_FIELD,	       /* a field is missing, of the wrong type or out of range */
	FOTA_ERR_ALG,	       /* algorithm not allowed, or key/alg mismatch */
	FOTA_ERR_UNKNOWN_KEY,  /* no trusted key with that key id */
	FOTA_ERR_WRONG_ROLE,   /* key exists but has another role */
	FOTA_ERR_SIGNATURE,    /* signature does not verify */
	FOTA_ERR_THRESHOLD,    /* fewer valid signatures than the role requires */
	FOTA_ERR_EXPIRED,      /* document past its expires time */
	FOTA_ERR_ROLLBACK,     /* sequence not newer than the installed one */
	FOTA_ERR_INCOMPATIBLE, /* vendor/model/hw/current version does not match */
	FOTA_ERR_DIGEST,       /* a hash does not match */
	FOTA_ERR_CRITICAL,     /* an unknown critical field */
	FOTA_ERR_IO,	       /* file system error (errno in the message) */
	FOTA_ERR_CRYPTO,       /* OpenSSL failure unrelated to input validity */
	FOTA_ERR_MQTT,	       /* broker connection or protocol failure */
	FOTA_ERR_TIMEOUT,      /* an operation did not finish in time */
	FOTA_ERR_STATE,	       /* operation not valid in the current state */
	FOTA_ERR_NOT_FOUND,    /* a named object does not exist */
	FOTA_ERR__COUNT
} fota_err;

#define FOTA_ERROR_MSG_MAX 256

/* Filled by parsers and verifiers so callers can show the reason verbatim. */
struct fota_error {
	fota_err code;
	char msg[FOTA_ERROR_MSG_MAX];
};

/* Short, stable, lower-case name of a code ("signature", "expired", ...). */
const char *fota_strerror(fota_err code);

/* Records code and a printf-style message in err (which may be NULL); returns code. */
fota_err fota_error_set(struct fota_error *err, fota_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message, keeping the code; returns err->code. */
fota_err fota_error_prefix(struct fota_error *err, const char *prefix);

void fota_error_clear(struct fota_error *err);

#endif
