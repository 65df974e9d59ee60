/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of fota-orchestrator: the content keys of a campaign's encrypted image, given
 * to its admitted devices before the directive lets them start and taken back once they
 * confirm. */
#ifndef ORCH_CAMPAIGN_KEYS_H
#define ORCH_CAMPAIGN_KEYS_H

#include <stdbool.h>

#include "fota/directive.h"
#include "fota/error.h"
#include "fota/signer.h"

#include "config.h"
#include "publisher.h"
#include "store.h"

/* Whether image id_hex is stored encrypted (it has a content key). */
bool orch_campaign_image_encrypted(const struct orch_config *cfg, const char *id_hex);

/*
 * For campaign c of an encrypted image: publishes the key document (orch_key_publish) to
 * every admitted device (mark none) that has not settled and has no "key" event in the
 * campaign yet, and clears the retained key of every confirmed device that has one; each
 * delivery and clearing is recorded as a device event ("key" with "seq N", "key_cleared"),
 * which is what later calls go by. A device whose delivery fails is logged and tried again
 * on the next call; the others go on. Call outside a store transaction.
 */
fota_err orch_campaign_keys_sync(const struct orch_config *cfg, struct orch_store *st,
				 const struct orch_publisher *pub, struct fota_signer *signer,
				 const struct orch_campaign *c, struct fota_error *err);

/* `publish` of an encrypted image to group with directive d: the key document for every
 * registry member of the group that d admits (fota_directive_admits) and that has a
 * certificate, before the directive; each admitted member without one is named on stderr
 * (it cannot decrypt the image). *sent counts the documents published. Nothing is cleared
 * later: a publish keeps no per-device record. */
fota_err orch_group_keys_publish(const struct orch_config *cfg, struct orch_store *st,
				 const struct orch_publisher *pub, struct fota_signer *signer,
				 const char *group, const struct fota_directive *d,
				 const char *image_id, unsigned *sent, struct fota_error *err);

#endif
