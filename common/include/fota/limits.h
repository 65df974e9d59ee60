/* SPDX-License-Identifier: Apache-2.0 */
/* Every size limit on input from the network or disk, in one place (docs/protocol.md). */
#ifndef FOTA_LIMITS_H
#define FOTA_LIMITS_H

/* Signed envelopes (JWS JSON serialization) as received, in bytes. */
#define FOTA_MAX_ENVELOPE_BYTES (64 * 1024)
/* A directive embeds the manifest envelope and may list canary devices. */
#define FOTA_MAX_DIRECTIVE_BYTES (256 * 1024)
/* Decoded JWS protected header. */
#define FOTA_MAX_PROTECTED_BYTES 1024
/* Objects and arrays nested in any JSON document or protected header (ours use 4 at most). */
#define FOTA_MAX_JSON_DEPTH 32
/* Signatures per envelope (threshold signing fits, floods do not). */
#define FOTA_MAX_SIGNATURES 8
/* Keys in one trust store. */
#define FOTA_MAX_TRUSTED_KEYS 64
#define FOTA_MAX_KID_LEN 64
/* One key file or JWK Set file of a trust store or signer, read from local disk. */
#define FOTA_MAX_KEY_FILE_BYTES (64 * 1024)

/* Generic short strings in documents: names, versions, vendor, model, ids. */
#define FOTA_MAX_NAME_LEN 64
#define FOTA_MAX_VERSION_LEN 64
#define FOTA_MAX_LIST_ITEMS 16
#define FOTA_MAX_PARAMS 16
#define FOTA_MAX_PARAM_LEN 256
#define FOTA_MAX_REASON_LEN 200

/* A signed group assignment envelope as received, and the groups it may name (a device
 * subscribes to each). */
#define FOTA_MAX_ASSIGNMENT_BYTES (16 * 1024)
#define FOTA_MAX_ASSIGNED_GROUPS 8

/* A wrapped content key: the JWE compact string, its decoded protected header, and the key it
 * may carry; and the signed key document (an envelope around one JWE) as received. */
#define FOTA_MAX_JWE_BYTES 2048
#define FOTA_MAX_JWE_HEADER_BYTES 512
#define FOTA_MAX_JWE_CEK_LEN 64
#define FOTA_MAX_KEY_DOC_BYTES (8 * 1024)

/* Devices named in one directive admission list. */
#define FOTA_MAX_ADMIT_DEVICES 1024

/* Images and chunks. */
#define FOTA_MIN_CHUNK_SIZE 1024u
#define FOTA_MAX_CHUNK_SIZE (1024u * 1024u)
#define FOTA_MAX_CHUNK_COUNT 32768u
#define FOTA_MAX_IMAGE_SIZE (16ull * 1024 * 1024 * 1024)
/* The largest zstd window a device decodes with (2^23 = 8 MiB): what a frame may ask the
 * decoder to keep in memory. `image add --compress` never writes a larger one. */
#define FOTA_ZSTD_MAX_WINDOW_LOG 23
/* The payload of one data frame: a chunk, or a sealed chunk of an encrypted payload, which is
 * followed by its 16-byte GCM tag (FOTA_CHUNK_TAG_LEN). */
#define FOTA_MAX_DATA_PAYLOAD (FOTA_MAX_CHUNK_SIZE + 16u)
/* Header plus payload of one chunk frame: the largest data frame; a table frame carries
 * count * 32 bytes, at most 1 MiB. */
#define FOTA_MAX_FRAME_BYTES (FOTA_FRAME_HEADER_LEN + FOTA_MAX_DATA_PAYLOAD)
#define FOTA_FRAME_HEADER_LEN 32u
/* Longer headers (fields appended by later frame versions) are skipped up to this size. */
#define FOTA_MAX_FRAME_HEADER_LEN 256u

/* Small JSON messages from devices. */
#define FOTA_MAX_STATUS_BYTES 4096
#define FOTA_MAX_REQUEST_BYTES 4096
#define FOTA_MAX_REQUEST_RANGES 64
/* Chunks one repair request may ask for at once (the device's window). */
#define FOTA_MAX_REQUEST_CHUNKS 256

/* Topic segments (group, device id) and whole topics. */
#define FOTA_MAX_SEGMENT_LEN 64
#define FOTA_MAX_PREFIX_LEN 64
#define FOTA_MAX_TOPIC_LEN 256

#endif
