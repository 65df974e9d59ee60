/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness past the signatures: the harness signs what the fuzzer writes, so every
 * document verifies and fota_acceptance_judge() is fuzzed on what follows verification.
 *
 * Input: 4 bytes of device state, a manifest payload, a NUL, a directive payload. The
 * manifest is signed with the release key; in the directive, "$MANIFEST" becomes that
 * envelope (as a JSON string's content) and "$SHA" the manifest's SHA-256, then the
 * directive is signed with the orchestrator key. Invariants: the verdict is one of the
 * enumeration, a refusal says why, judging is pure (twice, the same answer), and a START
 * carries the manifest the directive names. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fota/acceptance.h"
#include "fota/digest.h"
#include "fota/signer.h"
#include "fota/trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 7515 A.3 (P-256) as the release key, RFC 8037 A.1 (Ed25519) as the orchestrator key:
 * published test keys, the same fuzz_envelope trusts. */
static const char release_jwk[] = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"rel-es256\","
				  "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
				  "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\","
				  "\"d\":\"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI\"}";
static const char orchestrator_jwk[] = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"orch-ed\","
				       "\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\","
				       "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";

static struct fota_trust *trust;
static struct fota_signer *release_signer, *orchestrator_signer;

/* The signer reads key files, so the keys go through a temporary file once. */
static struct fota_signer *load_signer(const char *jwk)
{
	char path[] = "/tmp/fuzz_acceptance.XXXXXX";
	struct fota_signer *s = NULL;
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, jwk, strlen(jwk)) != (ssize_t)strlen(jwk))
		abort();
	close(fd);
	if (fota_signer_load(path, NULL, &s, NULL) != FOTA_OK)
		abort();
	unlink(path);
	return s;
}

static void setup(void)
{
	if (trust != NULL)
		return;
	trust = fota_trust_new();
	if (trust == NULL ||
	    fota_trust_add_jwk(trust, NULL, FOTA_ROLE_RELEASE, release_jwk, strlen(release_jwk),
			       NULL) != FOTA_OK ||
	    fota_trust_add_jwk(trust, NULL, FOTA_ROLE_ORCHESTRATOR, orchestrator_jwk,
			       strlen(orchestrator_jwk), NULL) != FOTA_OK)
		abort();
	release_signer = load_signer(release_jwk);
	orchestrator_signer = load_signer(orchestrator_jwk);
}

/* Appends n bytes to a growing buffer. */
struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
			abort();
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* The directive template with $MANIFEST and $SHA filled in. */
static void fill(struct buf *out, const uint8_t *tmpl, size_t n, const char *envelope,
		 const char *sha_hex)
{
	for (size_t i = 0; i < n;) {
		if (n - i >= 9 && memcmp(tmpl + i, "$MANIFEST", 9) == 0) {
			for (const char *c = envelope; *c != '\0'; c++) {
				if (*c == '"' || *c == '\\')
					put(out, "\\", 1);
				put(out, c, 1);
			}
			i += 9;
		} else if (n - i >= 4 && memcmp(tmpl + i, "$SHA", 4) == 0) {
			put(out, sha_hex, strlen(sha_hex));
			i += 4;
		} else {
			put(out, tmpl + i, 1);
			i++;
		}
	}
}

static bool same(const struct fota_acceptance *a, const struct fota_acceptance *b)
{
	return a->verdict == b->verdict && a->code == b->code && a->result == b->result &&
	       a->record == b->record && a->settle == b->settle && a->retry_at == b->retry_at &&
	       strcmp(a->reason, b->reason) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t installed[FOTA_SHA256_LEN] = {0x8f, 0x43, 0x43, 0x46};
	struct fota_acceptance_device dev = {0};
	struct fota_acceptance a = {0}, b = {0};
	struct buf directive = {0};
	const uint8_t *sep;
	uint8_t sha[FOTA_SHA256_LEN], job_sha[FOTA_SHA256_LEN];
	char sha_hex[2 * FOTA_SHA256_LEN + 1];
	char *manifest_jws = NULL, *directive_jws = NULL;
	size_t manifest_len;
	int flat;

	if (size < 4)
		return 0;
	setup();
	/* Device state from the first four bytes. */
	dev.id = "gw-0001";
	dev.group = "eu-gateways";
	dev.vendor = "acme";
	dev.model = "gw-100";
	dev.hw_revision = (data[0] & 1) ? "rev-c" : "rev-z";
	dev.install_method = (data[0] & 2) ? "ab-slot" : "file";
	dev.zstd = data[0] & 4;
	dev.delta = data[0] & 8;
	dev.current_version = (data[0] & 16) ? "1.3.1" : "";
	dev.installed_sequence = data[1] & 0x3f;
	dev.installed_sha256 = (data[0] & 32) ? installed : NULL;
	dev.seen_seq = data[2] & 0x0f;
	dev.settled = data[2] & 0x10;
	dev.job_active = data[2] & 0x20;
	dev.job_seq = dev.seen_seq;
	dev.job_group = (data[2] & 0x40) ? "eu-gateways" : "lab";
	dev.busy = data[2] & 0x80;
	/* In half days from ten days before the seeds' created time (2026-11-26T12:00:00Z) to
	 * well past their expiry. */
	dev.now = 1795694400 - 10 * 86400 + (int64_t)data[3] * 43200;
	flat = data[1] & 0x80; /* the manifest envelope's serialization */
	data += 4;
	size -= 4;

	sep = memchr(data, '\0', size);
	manifest_len = sep != NULL ? (size_t)(sep - data) : 0;
	if (fota_envelope_sign(&release_signer, 1, data, manifest_len, flat, &manifest_jws, NULL) !=
	    FOTA_OK)
		abort();
	fota_sha256(data, manifest_len, sha);
	fota_hex_encode(sha, FOTA_SHA256_LEN, sha_hex);
	memcpy(job_sha, sha, sizeof(job_sha));
	dev.job_sha256 = (dev.seen_seq & 1) ? job_sha : installed;
	if (sep != NULL)
		fill(&directive, sep + 1, size - manifest_len - 1, manifest_jws, sha_hex);
	else
		fill(&directive, data, size, manifest_jws, sha_hex);
	if (fota_envelope_sign(&orchestrator_signer, 1, (const uint8_t *)directive.p, directive.len,
			       0, &directive_jws, NULL) != FOTA_OK)
		abort();

	fota_acceptance_judge(trust, (const uint8_t *)directive_jws, strlen(directive_jws), &dev,
			      &a);
	fota_acceptance_judge(trust, (const uint8_t *)directive_jws, strlen(directive_jws), &dev,
			      &b);
	if ((unsigned)a.verdict >= FOTA_VERDICT__COUNT || !same(&a, &b))
		abort();
	/* To check what the seeds reach: FOTA_FUZZ_VERBOSE=1 fuzz_acceptance -runs=0 corpus/ */
	if (getenv("FOTA_FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "verdict %s: %s\n", fota_verdict_name(a.verdict), a.reason);
	if ((a.verdict == FOTA_VERDICT_REFUSE || a.verdict == FOTA_VERDICT_UNVERIFIED) &&
	    (a.code == FOTA_OK || a.reason[0] == '\0'))
		abort();
	if (a.verdict == FOTA_VERDICT_START &&
	    (!a.has_directive || !a.has_manifest ||
	     !fota_digest_equal(a.directive.manifest_sha256, sha, FOTA_SHA256_LEN)))
		abort();
	fota_acceptance_clear(&a);
	fota_acceptance_clear(&b);
	free(directive_jws);
	free(directive.p);
	free(manifest_jws);
	return 0;
}
