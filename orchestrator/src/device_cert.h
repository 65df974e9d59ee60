/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: a device's certificate as the registry accepts it, and
 * the public key content keys are wrapped to. */
#ifndef ORCH_DEVICE_CERT_H
#define ORCH_DEVICE_CERT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "fota/error.h"

/* Reads path (a PEM file of at most cap - 1 bytes) into pem, NUL-terminated. FOTA_ERR_IO or
 * FOTA_ERR_TOO_BIG naming the file. */
fota_err orch_device_cert_read(const char *path, char *pem, size_t cap, struct fota_error *err);

/*
 * Whether pem may stand for device id: exactly one X.509 certificate, chaining to a root in
 * ca_path (which may also hold intermediates) and valid at now (Unix seconds), usable for TLS
 * client authentication, with subject CN equal to id and an EC P-256 public key (the key content
 * keys are wrapped to with ECDH-ES). FOTA_ERR_FIELD with the reason otherwise; FOTA_ERR_IO if
 * ca_path cannot be read.
 */
fota_err orch_device_cert_check(const char *pem, const char *ca_path, const char *id, int64_t now,
				struct fota_error *err);

/* "CN <cn>, valid until <RFC 3339 UTC>" of a certificate the registry holds, for `device
 * show`. */
fota_err orch_device_cert_describe(const char *pem, char *out, size_t size, struct fota_error *err);

/* The public key of a certificate the registry holds; the caller frees *out. */
fota_err orch_device_cert_pubkey(const char *pem, EVP_PKEY **out, struct fota_error *err);

#endif
