/* SPDX-License-Identifier: Apache-2.0 */
/* Trust store: public keys by key id and role, loaded from a directory or a JWK Set. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "fota/limits.h"
#include "fota/trust.h"
#include "json.h"
#include "keys.h"

struct trust_key {
	char kid[FOTA_MAX_KID_LEN + 1];
	enum fota_role role;
	enum fota_alg alg;
	EVP_PKEY *key;
};

struct fota_trust {
	struct trust_key keys[FOTA_MAX_TRUSTED_KEYS];
	size_t n;
	unsigned threshold[FOTA_ROLE__COUNT];
};

static const char *const role_names[FOTA_ROLE__COUNT] = {
    [FOTA_ROLE_RELEASE] = "release",
    [FOTA_ROLE_ORCHESTRATOR] = "orchestrator",
};

const char *fota_role_name(enum fota_role role)
{
	if ((unsigned)role >= FOTA_ROLE__COUNT)
		return "unknown";
	return role_names[role];
}

fota_err fota_role_parse(const char *name, enum fota_role *out, struct fota_error *err)
{
	char shown[40];

	for (unsigned r = 0; r < FOTA_ROLE__COUNT; r++) {
		if (strcmp(name, role_names[r]) == 0) {
			*out = (enum fota_role)r;
			return FOTA_OK;
		}
	}
	return fota_error_set(err, FOTA_ERR_FIELD, "unknown role '%s' (release or orchestrator)",
			      fota__printable(name, shown, sizeof(shown)));
}

struct fota_trust *fota_trust_new(void)
{
	struct fota_trust *trust = calloc(1, sizeof(*trust));

	if (trust == NULL)
		return NULL;
	for (unsigned r = 0; r < FOTA_ROLE__COUNT; r++)
		trust->threshold[r] = 1;
	return trust;
}

/* Drops the keys from index `keep` on, so a failed load leaves the store as it was. */
static void trust_truncate(struct fota_trust *trust, size_t keep)
{
	while (trust->n > keep) {
		trust->n--;
		EVP_PKEY_free(trust->keys[trust->n].key);
		memset(&trust->keys[trust->n], 0, sizeof(trust->keys[trust->n]));
	}
}

void fota_trust_free(struct fota_trust *trust)
{
	if (trust == NULL)
		return;
	trust_truncate(trust, 0);
	free(trust);
}

/* Takes ownership of key whatever the outcome. */
static fota_err trust_add(struct fota_trust *trust, const char *kid, enum fota_role role,
			  EVP_PKEY *key, struct fota_error *err)
{
	struct trust_key *k;
	enum fota_alg alg;
	char shown[48];
	fota_err rc;

	if ((unsigned)role >= FOTA_ROLE__COUNT) {
		rc = fota_error_set(err, FOTA_ERR_INVAL, "invalid role %d", (int)role);
		goto fail;
	}
	if (!fota__kid_valid(kid)) {
		rc = fota_error_set(err, FOTA_ERR_FIELD,
				    "key id '%s' invalid (1..%d printable characters, no quotes, "
				    "'\\' or '/')",
				    fota__printable(kid, shown, sizeof(shown)), FOTA_MAX_KID_LEN);
		goto fail;
	}
	rc = fota__key_alg(key, &alg, err);
	if (rc != FOTA_OK)
		goto fail;
	if (trust->n >= FOTA_MAX_TRUSTED_KEYS) {
		rc = fota_error_set(err, FOTA_ERR_TOO_BIG, "trust store holds at most %d keys",
				    FOTA_MAX_TRUSTED_KEYS);
		goto fail;
	}
	for (size_t i = 0; i < trust->n; i++) {
		if (strcmp(trust->keys[i].kid, kid) == 0) {
			rc = fota_error_set(err, FOTA_ERR_INVAL, "duplicate key id '%s'", kid);
			goto fail;
		}
		/* One key under two ids (or two roles) would let one signer meet a threshold of
		 * two, or let the online key stand in for the offline one. */
		if (EVP_PKEY_eq(trust->keys[i].key, key) == 1) {
			rc = fota_error_set(
			    err, FOTA_ERR_INVAL, "key '%s' is the same key as '%s' (role %s)", kid,
			    trust->keys[i].kid, fota_role_name(trust->keys[i].role));
			goto fail;
		}
	}
	k = &trust->keys[trust->n++];
	memcpy(k->kid, kid, strlen(kid) + 1);
	k->role = role;
	k->alg = alg;
	k->key = key;
	return FOTA_OK;
fail:
	EVP_PKEY_free(key);
	return rc;
}

fota_err fota_trust_add_pem(struct fota_trust *trust, const char *kid, enum fota_role role,
			    const char *pem, size_t len, struct fota_error *err)
{
	EVP_PKEY *key = NULL;
	fota_err rc;

	if (trust == NULL || pem == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, "no trust store or PEM");
	if (kid == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, "a PEM key needs an explicit key id");
	rc = fota__key_from_pem(pem, len, FOTA__KEY_PUBLIC, &key, err);
	if (rc != FOTA_OK)
		return rc;
	return trust_add(trust, kid, role, key, err);
}

static fota_err trust_add_jwk_obj(struct fota_trust *trust, const char *kid, enum fota_role role,
				  const cJSON *jwk, struct fota_error *err)
{
	EVP_PKEY *key = NULL;
	fota_err rc;

	if (kid == NULL)
		kid = fota__json_find_string(jwk, "kid");
	if (kid == NULL)
		return fota_error_set(err, FOTA_ERR_FIELD, "JWK has no \"kid\"");
	rc = fota__key_from_jwk(jwk, FOTA__KEY_PUBLIC, &key, err);
	if (rc != FOTA_OK)
		return rc;
	return trust_add(trust, kid, role, key, err);
}

fota_err fota_trust_add_jwk(struct fota_trust *trust, const char *kid, enum fota_role role,
			    const char *jwk_json, size_t len, struct fota_error *err)
{
	cJSON *jwk = NULL;
	fota_err rc;

	if (trust == NULL || jwk_json == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, "no trust store or JWK");
	if (len > FOTA_MAX_KEY_FILE_BYTES)
		return fota_error_set(err, FOTA_ERR_TOO_BIG, "JWK is %zu bytes, limit %d", len,
				      FOTA_MAX_KEY_FILE_BYTES);
	jwk = cJSON_ParseWithLength(jwk_json, len);
	if (jwk == NULL)
		return fota_error_set(err, FOTA_ERR_PARSE, "JWK is not valid JSON");
	rc = trust_add_jwk_obj(trust, kid, role, jwk, err);
	cJSON_Delete(jwk);
	return rc;
}

static int has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && strcmp(name + n - s, suffix) == 0;
}

static int key_file_filter(const struct dirent *e)
{
	return e->d_name[0] != '.' &&
	       (has_suffix(e->d_name, ".pem") || has_suffix(e->d_name, ".jwk"));
}

static fota_err load_role_dir(struct fota_trust *trust, const char *dir, enum fota_role role,
			      struct fota_error *err)
{
	struct dirent **names = NULL;
	char path[4096], kid[FOTA_MAX_KID_LEN + 2];
	char *text = NULL;
	size_t len = 0;
	int n;
	fota_err rc = FOTA_OK;

	/* Sorted, so the first error reported does not depend on directory order. */
	n = scandir(dir, &names, key_file_filter, alphasort);
	if (n < 0)
		return fota_error_set(err, FOTA_ERR_IO, "cannot list %s: %s", dir, strerror(errno));
	for (int i = 0; i < n && rc == FOTA_OK; i++) {
		const char *name = names[i]->d_name;
		size_t stem = strlen(name) - 4;

		if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
			rc = fota_error_set(err, FOTA_ERR_INVAL, "path too long: %s/%s", dir, name);
			break;
		}
		if (stem >= sizeof(kid)) {
			rc = fota_error_set(err, FOTA_ERR_FIELD,
					    "%s: file name is too long for a key id (max %d)", path,
					    FOTA_MAX_KID_LEN);
			break;
		}
		memcpy(kid, name, stem);
		kid[stem] = '\0';
		rc = fota__file_read(path, FOTA_MAX_KEY_FILE_BYTES, &text, &len, err);
		if (rc != FOTA_OK)
			break;
		if (has_suffix(name, ".pem"))
			rc = fota_trust_add_pem(trust, kid, role, text, len, err);
		else
			rc = fota_trust_add_jwk(trust, kid, role, text, len, err);
		if (rc != FOTA_OK)
			fota_error_prefix(err, path);
		free(text);
		text = NULL;
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static fota_err load_dir(struct fota_trust *trust, const char *path, struct fota_error *err)
{
	char dir[4096];
	struct stat st;
	int found = 0;
	fota_err rc;

	for (unsigned r = 0; r < FOTA_ROLE__COUNT; r++) {
		if (snprintf(dir, sizeof(dir), "%s/%s", path, role_names[r]) >= (int)sizeof(dir))
			return fota_error_set(err, FOTA_ERR_INVAL, "path too long: %s", path);
		if (stat(dir, &st) != 0) {
			if (errno == ENOENT)
				continue;
			return fota_error_set(err, FOTA_ERR_IO, "cannot stat %s: %s", dir,
					      strerror(errno));
		}
		if (!S_ISDIR(st.st_mode))
			return fota_error_set(err, FOTA_ERR_IO, "%s is not a directory", dir);
		found = 1;
		rc = load_role_dir(trust, dir, (enum fota_role)r, err);
		if (rc != FOTA_OK)
			return rc;
	}
	if (!found)
		return fota_error_set(err, FOTA_ERR_NOT_FOUND,
				      "%s has neither a release/ nor an orchestrator/ subdirectory",
				      path);
	return FOTA_OK;
}

static fota_err load_jwks(struct fota_trust *trust, const char *path, struct fota_error *err)
{
	cJSON *root = NULL;
	const cJSON *keys, *jwk;
	char *text = NULL;
	size_t len = 0;
	int i = 0;
	fota_err rc;

	rc = fota__file_read(path, FOTA_MAX_KEY_FILE_BYTES, &text, &len, err);
	if (rc != FOTA_OK)
		return rc;
	root = cJSON_ParseWithLength(text, len);
	if (root == NULL) {
		rc =
		    fota_error_set(err, FOTA_ERR_PARSE, "%s is neither a directory nor JSON", path);
		goto out;
	}
	keys = cJSON_GetObjectItemCaseSensitive(root, "keys");
	if (!cJSON_IsArray(keys)) {
		rc = fota_error_set(err, FOTA_ERR_FIELD, "%s: JWK Set has no \"keys\" array", path);
		goto out;
	}
	cJSON_ArrayForEach(jwk, keys)
	{
		const char *role_name = fota__json_find_string(jwk, "fota_role");
		enum fota_role role = FOTA_ROLE_RELEASE; /* set by fota_role_parse before use */
		char where[64];

		snprintf(where, sizeof(where), "keys[%d]", i++);
		if (role_name == NULL) {
			rc = fota_error_set(err, FOTA_ERR_FIELD, "JWK has no \"fota_role\"");
			goto prefixed;
		}
		rc = fota_role_parse(role_name, &role, err);
		if (rc == FOTA_OK)
			rc = trust_add_jwk_obj(trust, NULL, role, jwk, err);
	prefixed:
		if (rc != FOTA_OK) {
			fota_error_prefix(err, where);
			fota_error_prefix(err, path);
			goto out;
		}
	}
out:
	cJSON_Delete(root);
	free(text);
	return rc;
}

fota_err fota_trust_load(struct fota_trust *trust, const char *path, struct fota_error *err)
{
	size_t before;
	struct stat st;
	fota_err rc;

	if (trust == NULL || path == NULL)
		return fota_error_set(err, FOTA_ERR_INVAL, "no trust store or path");
	before = trust->n;
	if (stat(path, &st) != 0)
		return fota_error_set(err, FOTA_ERR_IO, "cannot open trust store %s: %s", path,
				      strerror(errno));
	if (S_ISDIR(st.st_mode))
		rc = load_dir(trust, path, err);
	else
		rc = load_jwks(trust, path, err);
	if (rc == FOTA_OK && trust->n == before)
		rc = fota_error_set(err, FOTA_ERR_NOT_FOUND, "no keys found in trust store %s",
				    path);
	if (rc != FOTA_OK)
		trust_truncate(trust, before);
	return rc;
}

fota_err fota_trust_set_threshold(struct fota_trust *trust, enum fota_role role, unsigned n,
				  struct fota_error *err)
{
	if (trust == NULL || (unsigned)role >= FOTA_ROLE__COUNT)
		return fota_error_set(err, FOTA_ERR_INVAL, "no trust store or invalid role");
	/* 0 would accept unsigned documents; more than an envelope can carry never verifies. */
	if (n == 0 || n > FOTA_MAX_SIGNATURES)
		return fota_error_set(err, FOTA_ERR_INVAL, "threshold %u out of range 1..%d", n,
				      FOTA_MAX_SIGNATURES);
	trust->threshold[role] = n;
	return FOTA_OK;
}

unsigned fota_trust_threshold(const struct fota_trust *trust, enum fota_role role)
{
	if (trust == NULL || (unsigned)role >= FOTA_ROLE__COUNT)
		return 0;
	return trust->threshold[role];
}

size_t fota_trust_count(const struct fota_trust *trust, enum fota_role role)
{
	size_t count = 0;

	if (trust == NULL)
		return 0;
	for (size_t i = 0; i < trust->n; i++)
		if (trust->keys[i].role == role)
			count++;
	return count;
}

fota_err fota__trust_find(const struct fota_trust *trust, const char *kid, enum fota_role *role,
			  enum fota_alg *alg, EVP_PKEY **key)
{
	for (size_t i = 0; i < trust->n; i++) {
		if (strcmp(trust->keys[i].kid, kid) == 0) {
			*role = trust->keys[i].role;
			*alg = trust->keys[i].alg;
			*key = trust->keys[i].key;
			return FOTA_OK;
		}
	}
	return FOTA_ERR_UNKNOWN_KEY;
}
