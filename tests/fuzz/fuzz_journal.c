/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes the agent's journal reader (journal_parse), which reads journal.json back after any
 * power cut: bytes that are no usable journal give the factory state; a journal it accepts is
 * written (journal_text) and read back to the same text, so what the agent keeps survives its
 * next start unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FACTORY "0.0.0-factory"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct journal j, again;
	char *text, *text_again;

	if (!journal_parse(&j, FACTORY, data, size)) {
		if (strcmp(j.installed_version, FACTORY) != 0 || j.n_groups != 0 ||
		    j.probation.phase != JOURNAL_PHASE_NONE || j.outcome.kept)
			abort();
		return 0;
	}
	text = journal_text(&j);
	if (text == NULL)
		return 0; /* out of memory */
	if (!journal_parse(&again, FACTORY, (const uint8_t *)text, strlen(text)))
		abort();
	text_again = journal_text(&again);
	if (text_again != NULL && strcmp(text, text_again) != 0)
		abort();
	free(text_again);
	free(text);
	return 0;
}
