/* SPDX-License-Identifier: Apache-2.0 */
/* Creating a campaign: the one rule the CLI, the HTTP API and tests all call. */
#include <stdio.h>
#include <string.h>

#include "fota/timeutil.h"

#include "campaign.h"

/* Copies what the image's manifest requires of a device into the campaign. */
static void image_requirements(struct orch_campaign *c, const struct fota_manifest *m)
{
	size_t i, n = 0;

	snprintf(c->model, sizeof(c->model), "%s", m->model);
	c->hw_revisions[0] = '\0';
	for (i = 0; i < m->n_hw_revisions; i++)
		n += (size_t)snprintf(c->hw_revisions + n, sizeof(c->hw_revisions) - n, "%s%s",
				      i ? "," : "", m->hw_revisions[i]);
}

fota_err orch_campaign_create(const struct orch_config *cfg, struct orch_store *st,
			      struct orch_campaign *c, const char *id, bool force,
			      const char *actor, struct orch_campaign_created *out,
			      struct fota_error *err)
{
	struct orch_image *img = NULL;
	fota_err rc;

	memset(out, 0, sizeof(*out));
	if (strlen(id) > FOTA_MAX_NAME_LEN) {
		snprintf(out->field, sizeof(out->field), "id");
		return fota_error_set(err, FOTA_ERR_FIELD, "campaign id is too long");
	}
	snprintf(c->id, sizeof(c->id), "%s", id);
	if (!c->salt[0])
		snprintf(c->salt, sizeof(c->salt), "%s", id);
	rc = orch_campaign_validate(c, err);
	if (rc)
		return rc;
	rc = orch_image_open(cfg, c->image_id, &img, err);
	if (rc) {
		snprintf(out->field, sizeof(out->field), "image");
		return rc;
	}
	snprintf(c->image_id, sizeof(c->image_id), "%s", img->id);
	image_requirements(c, &img->manifest);
	c->state = ORCH_CAMPAIGN_DRAFT;
	c->created = fota_time_now();
	rc = st->ops->begin(st, err);
	if (rc)
		goto out;
	rc = orch_campaign_preflight(st, c, &out->members, &out->incompatible, err);
	if (rc == FOTA_ERR_NOT_FOUND || rc == FOTA_ERR_FIELD || rc == FOTA_ERR_INCOMPATIBLE) {
		if (!force) {
			out->refused = true;
			/* An unknown group, or a listed device that is unknown or outside it. */
			snprintf(out->field, sizeof(out->field), "%s",
				 rc == FOTA_ERR_INCOMPATIBLE ? "image"
				 : rc == FOTA_ERR_NOT_FOUND && strstr(err->msg, "group")
				     ? "group"
				     : "stages");
			goto rollback;
		}
		out->forced = true;
		snprintf(out->preflight, sizeof(out->preflight), "%s", err->msg);
		fota_error_clear(err);
		rc = FOTA_OK;
	}
	if (rc == FOTA_OK)
		rc = st->ops->image_put(st, img->id, img->manifest.name, img->manifest.version,
					img->manifest.size, err);
	if (rc == FOTA_OK)
		rc = st->ops->campaign_create(st, c, err);
	if (rc == FOTA_OK)
		rc = orch_campaign_event(
		    st, c->id, "", "created", "", err, "image %s (%s %s), group %s, %u stages%s%s",
		    img->id, img->manifest.name, img->manifest.version, c->group, c->n_stages,
		    actor && *actor ? " by " : "", actor && *actor ? actor : "");
	if (rc == FOTA_OK)
		rc = st->ops->commit(st, err);
	if (rc == FOTA_OK)
		goto out;
rollback:
	st->ops->rollback(st);
out:
	orch_image_free(img);
	return rc;
}
