/* crypt_internal.h - what keyring.c and crypt.c share; not for other layers. */
#ifndef ES_STORE_CRYPT_INTERNAL_H
#define ES_STORE_CRYPT_INTERNAL_H

#include "store/crypt.h"

#include <stdarg.h>

/* Always sodium_malloc'd, so guarded and locked; sodium_free wipes it. */
struct st_dek {
	uint8_t k[ST_KEY_BYTES];
};

/* snprintf into err when err is non-NULL and errcap > 0. */
void st_crypt_errf(char *err, size_t errcap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* sodium_init once; ES_EUNSUP if libsodium cannot start. */
int st_crypt_init(void);

/* fsync the folder that holds path (so a create or rename is durable). */
int st_crypt_fsync_dir(const char *path);

#endif
