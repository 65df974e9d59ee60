/* SPDX-License-Identifier: Apache-2.0 */
/* Error codes, their names, and the detail message helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fota/error.h"

static const char *const names[FOTA_ERR__COUNT] = {
    [FOTA_OK] = "ok",
    [FOTA_ERR_NOMEM] = "out of memory",
    [FOTA_ERR_INVAL] = "invalid argument",
    [FOTA_ERR_TOO_BIG] = "too big",
    [FOTA_ERR_PARSE] = "malformed",
    [FOTA_ERR_FIELD] = "bad field",
    [FOTA_ERR_ALG] = "algorithm not allowed",
    [FOTA_ERR_UNKNOWN_KEY] = "unknown key",
    [FOTA_ERR_WRONG_ROLE] = "wrong key role",
    [FOTA_ERR_SIGNATURE] = "bad signature",
    [FOTA_ERR_THRESHOLD] = "too few signatures",
    [FOTA_ERR_EXPIRED] = "expired",
    [FOTA_ERR_ROLLBACK] = "rollback",
    [FOTA_ERR_INCOMPATIBLE] = "incompatible",
    [FOTA_ERR_DIGEST] = "digest mismatch",
    [FOTA_ERR_CRITICAL] = "unknown critical field",
    [FOTA_ERR_IO] = "i/o error",
    [FOTA_ERR_CRYPTO] = "crypto failure",
    [FOTA_ERR_MQTT] = "mqtt failure",
    [FOTA_ERR_TIMEOUT] = "timeout",
    [FOTA_ERR_STATE] = "wrong state",
    [FOTA_ERR_NOT_FOUND] = "not found",
};

const char *fota_strerror(fota_err code)
{
	if ((unsigned)code >= FOTA_ERR__COUNT)
		return "unknown error";
	return names[code];
}

fota_err fota_error_set(struct fota_error *err, fota_err code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

fota_err fota_error_prefix(struct fota_error *err, const char *prefix)
{
	size_t plen, mlen;

	if (err == NULL)
		return FOTA_ERR_INVAL;
	plen = strlen(prefix) + 2; /* "prefix: " */
	if (plen >= sizeof(err->msg))
		return err->code;
	mlen = strnlen(err->msg, sizeof(err->msg) - 1);
	if (mlen > sizeof(err->msg) - 1 - plen)
		mlen = sizeof(err->msg) - 1 - plen; /* keep the start of the reason */
	memmove(err->msg + plen, err->msg, mlen);
	memcpy(err->msg, prefix, plen - 2);
	err->msg[plen - 2] = ':';
	err->msg[plen - 1] = ' ';
	err->msg[plen + mlen] = '\0';
	return err->code;
}

void fota_error_clear(struct fota_error *err)
{
	if (err == NULL)
		return;
	err->code = FOTA_OK;
	err->msg[0] = '\0';
}
