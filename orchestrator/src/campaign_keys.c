/* SPDX-License-Identifier: Apache-2.0 */
/* A campaign's content keys: which admitted devices get one and when it is taken back, with
 * the campaign's event log as the record of what went out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "campaign.h"
#include "campaign_keys.h"
#include "image_seal.h"
#include "key_delivery.h"
#include "log.h"

bool orch_campaign_image_encrypted(const struct orch_config *cfg, const char *id_hex)
{
	uint8_t key[FOTA_CONTENT_KEY_LEN];
	bool yes = orch_content_key_load(cfg, id_hex, key, NULL) == FOTA_OK;

	OPENSSL_cleanse(key, sizeof(key));
	return yes;
}

/* One device of the campaign and what the event log says about its key. */
struct kdev {
	char id[FOTA_MAX_SEGMENT_LEN + 1];
	bool wants;	/* admitted and not settled: needs the key */
	bool confirmed; /* the key is no longer needed */
	bool delivered, cleared;
	const char *done; /* the event this call records: "key", "key_cleared" or none */
	uint64_t seq;	  /* of the key document it published */
};

struct kset {
	struct kdev *d;
	size_t n;
};

static bool unmarked(void *ctx, const struct orch_cdev *d)
{
	(void)ctx;
	return d->mark == ORCH_CMARK_NONE;
}

/* The campaign's unmarked devices, each with what its state says about the key. */
static fota_err kset_load(struct orch_store *st, const char *campaign, struct kset *s,
			  struct fota_error *err)
{
	struct orch_cdev *list = NULL;
	size_t n = 0;
	fota_err rc = orch_cdev_collect(st, campaign, unmarked, NULL, &list, &n, err);

	if (rc == FOTA_OK && n && !(s->d = calloc(n, sizeof(*s->d))))
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	for (size_t i = 0; rc == FOTA_OK && i < n; i++) {
		snprintf(s->d[i].id, sizeof(s->d[i].id), "%s", list[i].device);
		s->d[i].confirmed = list[i].state == FOTA_STATE_CONFIRMED;
		s->d[i].wants = !orch_cdev_settled(&list[i]);
		s->n++;
	}
	free(list);
	return rc;
}

static int cmp_kdev(const void *a, const void *b)
{
	return strcmp(((const struct kdev *)a)->id, ((const struct kdev *)b)->id);
}

static int note_event(void *ctx, const struct orch_event *e)
{
	struct kset *s = ctx;
	struct kdev key, *d;

	if (!e->device[0] || (strcmp(e->kind, "key") != 0 && strcmp(e->kind, "key_cleared") != 0))
		return 0;
	snprintf(key.id, sizeof(key.id), "%s", e->device);
	d = bsearch(&key, s->d, s->n, sizeof(*s->d), cmp_kdev);
	if (!d)
		return 0;
	/* A retry re-admits a device: a delivery after a clearing counts again. */
	if (strcmp(e->kind, "key") == 0) {
		d->delivered = true;
		d->cleared = false;
	} else {
		d->cleared = true;
	}
	return 0;
}

struct names {
	char (*id)[FOTA_MAX_SEGMENT_LEN + 1];
	size_t n;
	bool oom;
};

static int add_name(void *ctx, const struct orch_device *d)
{
	struct names *s = ctx;
	void *tmp = realloc(s->id, (s->n + 1) * sizeof(*s->id));

	if (!tmp) {
		s->oom = true;
		return 1;
	}
	s->id = tmp;
	snprintf(s->id[s->n++], sizeof(*s->id), "%s", d->id);
	return 0;
}

fota_err orch_group_keys_publish(const struct orch_config *cfg, struct orch_store *st,
				 const struct orch_publisher *pub, struct fota_signer *signer,
				 const char *group, const struct fota_directive *d,
				 const char *image_id, unsigned *sent, struct fota_error *err)
{
	uint8_t key[FOTA_CONTENT_KEY_LEN];
	struct names s = {0};
	fota_err rc;

	*sent = 0;
	rc = orch_content_key_load(cfg, image_id, key, err);
	if (rc)
		return rc;
	rc = st->ops->device_each(st, group, add_name, &s, err);
	if (rc == FOTA_OK && s.oom)
		rc = fota_error_set(err, FOTA_ERR_NOMEM, "out of memory");
	for (size_t i = 0; rc == FOTA_OK && i < s.n; i++) {
		uint64_t seq = 0;

		/* Never to a device the directive does not let start. */
		if (!fota_directive_admits(d, s.id[i]))
			continue;
		rc = orch_key_publish(pub->mqtt, cfg->prefix, st, signer, s.id[i], image_id, key,
				      &seq, err);
		if (rc == FOTA_ERR_NOT_FOUND) {
			orch_log("%s: not sent the content key: %s", s.id[i], ORCH_REASON_NO_CERT);
			fota_error_clear(err);
			rc = FOTA_OK;
		} else if (rc == FOTA_OK) {
			orch_log("key document %llu for %s: image %s", (unsigned long long)seq,
				 s.id[i], image_id);
			(*sent)++;
		}
	}
	OPENSSL_cleanse(key, sizeof(key));
	free(s.id);
	return rc;
}

fota_err orch_campaign_keys_sync(const struct orch_config *cfg, struct orch_store *st,
				 const struct orch_publisher *pub, struct fota_signer *signer,
				 const struct orch_campaign *c, struct fota_error *err)
{
	uint8_t key[FOTA_CONTENT_KEY_LEN];
	struct kset s = {0};
	size_t n_done = 0;
	fota_err rc;

	if (!pub || !signer)
		return FOTA_OK;
	rc = orch_content_key_load(cfg, c->image_id, key, err);
	if (rc == FOTA_ERR_NOT_FOUND) {
		fota_error_clear(err);
		return FOTA_OK; /* not encrypted */
	}
	if (rc)
		return rc;
	rc = kset_load(st, c->id, &s, err);
	if (rc)
		goto out;
	qsort(s.d, s.n, sizeof(*s.d), cmp_kdev);
	rc = st->ops->event_each(st, c->id, NULL, note_event, &s, err);
	for (size_t i = 0; rc == FOTA_OK && i < s.n; i++) {
		struct kdev *d = &s.d[i];
		struct fota_error derr = {0};

		if (d->wants && !d->delivered) {
			if (orch_key_publish(pub->mqtt, cfg->prefix, st, signer, d->id, c->image_id,
					     key, &d->seq, &derr) == FOTA_OK)
				d->done = "key";
		} else if (d->confirmed && d->delivered && !d->cleared) {
			if (orch_key_clear(pub->mqtt, cfg->prefix, d->id, &derr) == FOTA_OK)
				d->done = "key_cleared";
		}
		/* A device admitted on its own report has no registered certificate: it cannot
		 * get the key, and saying so on every step would drown the log. */
		if (derr.msg[0] && derr.code != FOTA_ERR_NOT_FOUND)
			orch_log("campaign %s: %s", c->id, derr.msg);
		n_done += d->done != NULL;
	}
	/* One transaction for the records: what went out is out, whatever the store says. */
	if (rc == FOTA_OK && n_done)
		rc = st->ops->begin(st, err);
	for (size_t i = 0; rc == FOTA_OK && n_done && i < s.n; i++) {
		struct kdev *d = &s.d[i];

		if (!d->done)
			continue;
		if (d->seq)
			rc = orch_campaign_event(st, c->id, d->id, d->done, "", err,
						 "key document seq %llu for image %s",
						 (unsigned long long)d->seq, c->image_id);
		else
			rc = orch_campaign_event(st, c->id, d->id, d->done, "", err,
						 "retained key document removed");
	}
	if (rc == FOTA_OK && n_done)
		rc = st->ops->commit(st, err);
	else if (n_done)
		st->ops->rollback(st);
out:
	OPENSSL_cleanse(key, sizeof(key));
	free(s.d);
	return rc;
}
