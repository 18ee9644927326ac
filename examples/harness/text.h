/*
 * text.h: describing records (private to the harness files).
 */
#ifndef HARNESS_TEXT_H
#define HARNESS_TEXT_H

#include <stddef.h>

#include "harness.h"

/* Remembers the user name of an id, so ids can be named after the users left. */
void h_remember_name(const user_info_t *u);
/* "name#id", "#id" for an unknown id, "everyone" for 0. */
const char *h_name_of(int id, char *out, size_t n);
/* Every field of a record, for the logs and failure reports. */
void h_describe(const rec_t *r, char *out, size_t n);
/* One readable line, for the demo's timeline. */
void h_friendly(const rec_t *r, char *out, size_t n);

#endif /* HARNESS_TEXT_H */
