/*
 * vault.h - the data folder's keys: the keyring of key-encryption keys
 * (DATA/keys/kek.keys, or EARSHOT_KEK) and one wrapped data key per
 * recording (DATA/keys/dek/<name>.dek, the text of st_dek_wrap), where
 * <name> is the recording's id (its path relative to the data folder) with
 * '/' turned into '~'.  The recording id is the wrap's associated data, so
 * a key file copied onto another recording does not unwrap.
 *
 * Shredding overwrites a recording's wrapped key with zeros, fsyncs, and
 * removes it: the recording can no longer be decrypted by anyone.  Key files
 * are 0600 in 0700 folders; nothing here logs key material.
 *
 * Threads: st_vault_new_key and st_vault_key may run on several threads at
 * once; rotate and shred are for one process that holds the data folder.
 *
 * Rotation by another process (`earshot keys rotate`, or a rotated
 * kek.keys copied onto a web node) is followed without a restart: before
 * wrapping a new key the keyring file is stat'ed and read again when it
 * changed, and so is it when a wrapped key names a KEK this vault does not
 * hold (then ES_ENOKEK if it still lacks it).  A KEK from EARSHOT_KEK
 * changes only with a restart.
 */
#ifndef ES_STORE_VAULT_H
#define ES_STORE_VAULT_H

#include "store/crypt.h"

struct st_vault;

/* Open DATA/keys (created, with a first KEK, when create and absent). */
int st_vault_open(struct st_vault **out, const char *data_dir, bool create, char *err,
		  size_t errlen);
void st_vault_close(struct st_vault *v);

/* A fresh data key for recording rec_id, whose wrapped form is durable in
 * the vault (written via a temporary file, fsynced) when this returns. */
int st_vault_new_key(struct st_vault *v, const char *rec_id, struct st_dek **dek, char *err,
		     size_t errlen);
/* The data key of rec_id: ES_ENOTFOUND when it has none (shredded, or never
 * encrypted), ES_ENOKEK when the KEK that wrapped it is not in this node's
 * keyring (err names it), ES_ECRYPTO when its wrapped key does not
 * authenticate. */
int st_vault_key(struct st_vault *v, const char *rec_id, struct st_dek **dek, char *err,
		 size_t errlen);
/* Whether rec_id has a wrapped key. */
bool st_vault_has_key(struct st_vault *v, const char *rec_id);
/* Destroy rec_id's key (see above); ES_ENOTFOUND when it had none. */
int st_vault_shred(struct st_vault *v, const char *rec_id, char *err, size_t errlen);
/* Keys that live in the file they protect (the encrypted spool, media/
 * mlog.c) rather than in DATA/keys: a fresh random key for id, and its
 * form wrapped by the current KEK with id as associated data (the text of
 * st_dek_wrap, at most ST_WRAPPED_MAX with its NUL); and back.  Nothing is
 * written; the caller wipes key. */
int st_vault_wrap_new(struct st_vault *v, const char *id, uint8_t key[ST_KEY_BYTES],
		      char *wrapped, size_t cap);
int st_vault_unwrap(struct st_vault *v, const char *id, const char *wrapped,
		    uint8_t key[ST_KEY_BYTES], char *err, size_t errlen);
/* Wrap again with the current KEK a key wrapped for id (one that lives
 * elsewhere, st_vault_wrap_new's): the key inside stays the same. */
int st_vault_rewrap(struct st_vault *v, const char *id, const char *wrapped, char *out,
		    size_t cap, char *err, size_t errlen);
/* A new KEK becomes current and every wrapped key is wrapped again with it
 * (the audio is not touched); *rewrapped counts them.  ES_EUNSUP with a KEK
 * from the environment. */
int st_vault_rotate(struct st_vault *v, unsigned *rewrapped, char *err, size_t errlen);
/* Where a wrapped key is looked up when the data folder has none: a web
 * node of several (issue #16) reads the recorders' keys from the shared
 * index.  get copies rec_id's wrapped key into wrapped (cap bytes) or
 * returns ES_ENOTFOUND; del removes it (0 also when there was none).  Both
 * are called from whichever thread uses the vault; ud outlives the vault.
 * With one set, st_vault_key, st_vault_has_key and st_vault_shred consult
 * it too (a shred removes both copies). */
struct st_vault_remote {
	int (*get)(void *ud, const char *rec_id, char *wrapped, size_t cap);
	int (*del)(void *ud, const char *rec_id);
	void *ud;
};
/* Set (copied) or clear (NULL) the remote. */
void st_vault_set_remote(struct st_vault *v, const struct st_vault_remote *r);
/* rec_id's wrapped key as the data folder holds it (to publish it; the
 * text of st_dek_wrap, never a plaintext key): ES_ENOTFOUND when none. */
int st_vault_wrapped(struct st_vault *v, const char *rec_id, char *out, size_t cap);
/* fn(ud, rec_id, wrapped) for each wrapped key in the data folder; fn's
 * non-zero return stops the walk and is returned. */
typedef int (*st_vault_key_fn)(void *ud, const char *rec_id, const char *wrapped);
int st_vault_each(struct st_vault *v, st_vault_key_fn fn, void *ud);
/* The current KEK's id (valid until the keyring is read again: one
 * thread) and how many KEKs there are. */
const char *st_vault_kek_id(const struct st_vault *v);
size_t st_vault_kek_count(const struct st_vault *v);

#endif /* ES_STORE_VAULT_H */
