/* test_vault.c - the data folder's keys: a data key per recording, kept
 * only wrapped; rotation rewraps without changing it; shredding destroys
 * it; a key file copied onto another recording does not unwrap; data keys
 * made and freed on several threads at once (their guarded pages are
 * pooled, keyring.c) are each their own. */
#include "store/vault.h"
#include "store/crypt_internal.h"
#include "check.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

/* Encrypt a small plaintext for rec_id with its key; return the path. */
static void encrypt_for(struct st_vault *v, const char *rec_id, const char *path)
{
	struct st_dek *dek = NULL;
	char err[256];
	CHECK_INT(st_vault_new_key(v, rec_id, &dek, err, sizeof(err)), 0);
	struct st_enc_writer *w = NULL;
	CHECK_INT(st_enc_writer_open(&w, path, dek, 0, err, sizeof(err)), 0);
	CHECK_INT(st_enc_writer_write(w, rec_id, strlen(rec_id)), 0);
	CHECK_INT(st_enc_writer_finish(w, NULL), 0);
	st_enc_writer_free(w);
	st_dek_free(dek);
}

/* Decrypt path with rec_id's key; 0 and the plaintext equals rec_id. */
static int decrypt_for(struct st_vault *v, const char *rec_id, const char *path)
{
	struct st_dek *dek = NULL;
	char err[256];
	int rc = st_vault_key(v, rec_id, &dek, err, sizeof(err));
	if (rc)
		return rc;
	struct st_enc_reader *r = NULL;
	rc = st_enc_reader_open(&r, path, dek, err, sizeof(err));
	st_dek_free(dek);
	if (rc)
		return rc;
	char buf[128] = {0};
	size_t got = 0;
	rc = st_enc_reader_pread(r, buf, sizeof(buf) - 1, 0, &got);
	st_enc_reader_close(r);
	if (!rc && (got != strlen(rec_id) || memcmp(buf, rec_id, got) != 0))
		rc = ES_ECRYPTO;
	return rc;
}

static void test_vault(void)
{
	char err[256], a[300], b[300];
	struct st_vault *v = NULL;
	CHECK_INT(st_vault_open(&v, dir, false, err, sizeof(err)), ES_ENOTFOUND);
	CHECK_INT(st_vault_open(&v, dir, true, err, sizeof(err)), 0);
	char keys[300];
	snprintf(keys, sizeof(keys), "%s/keys", dir);
	struct stat st;
	CHECK_INT(stat(keys, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0700);
	CHECK_INT(st_vault_kek_count(v), 1);

	snprintf(a, sizeof(a), "%s/a.enc", dir);
	snprintf(b, sizeof(b), "%s/b.enc", dir);
	encrypt_for(v, "recordings/2026/01/01/1.opus.enc", a);
	encrypt_for(v, "recordings/2026/01/01/2.opus.enc", b);
	CHECK(st_vault_has_key(v, "recordings/2026/01/01/1.opus.enc"));
	CHECK_INT(decrypt_for(v, "recordings/2026/01/01/1.opus.enc", a), 0);
	CHECK_INT(decrypt_for(v, "recordings/2026/01/01/2.opus.enc", b), 0);

	/* ids that could leave the folder are refused */
	struct st_dek *dek = NULL;
	CHECK_INT(st_vault_new_key(v, "../x", &dek, err, sizeof(err)), ES_EINVAL);
	CHECK_INT(st_vault_new_key(v, "a b", &dek, err, sizeof(err)), ES_EINVAL);
	CHECK_INT(st_vault_new_key(v, "", &dek, err, sizeof(err)), ES_EINVAL);

	/* a key file copied onto another recording does not unwrap */
	char k1[600], k2[600];
	snprintf(k1, sizeof(k1), "%s/keys/dek/recordings~2026~01~01~1.opus.enc.dek", dir);
	snprintf(k2, sizeof(k2), "%s/keys/dek/recordings~2026~01~01~2.opus.enc.dek", dir);
	CHECK_INT(stat(k1, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	char cmd[2600];
	snprintf(cmd, sizeof(cmd), "cp %s %s.save && cp %s %s", k2, k2, k1, k2);
	CHECK_INT(system(cmd), 0);
	CHECK_INT(decrypt_for(v, "recordings/2026/01/01/2.opus.enc", b), ES_ECRYPTO);
	snprintf(cmd, sizeof(cmd), "mv %s.save %s", k2, k2);
	CHECK_INT(system(cmd), 0);

	/* rotation: a second KEK, both keys rewrapped, both still decrypt,
	 * also after reopening */
	unsigned n = 0;
	char before[200];
	FILE *f = fopen(k1, "r");
	CHECK(f && fgets(before, sizeof(before), f));
	if (f)
		fclose(f);
	CHECK_INT(st_vault_rotate(v, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 2);
	CHECK_INT(st_vault_kek_count(v), 2);
	char after[200];
	f = fopen(k1, "r");
	CHECK(f && fgets(after, sizeof(after), f));
	if (f)
		fclose(f);
	CHECK(strcmp(before, after) != 0);
	CHECK(strstr(after, st_vault_kek_id(v)) != NULL);
	st_vault_close(v);
	CHECK_INT(st_vault_open(&v, dir, false, err, sizeof(err)), 0);
	CHECK_INT(decrypt_for(v, "recordings/2026/01/01/1.opus.enc", a), 0);
	CHECK_INT(decrypt_for(v, "recordings/2026/01/01/2.opus.enc", b), 0);

	/* shredding: gone for good, the other recording untouched */
	CHECK_INT(st_vault_shred(v, "recordings/2026/01/01/1.opus.enc", err, sizeof(err)), 0);
	CHECK(!st_vault_has_key(v, "recordings/2026/01/01/1.opus.enc"));
	CHECK_INT(stat(k1, &st), -1);
	CHECK_INT(decrypt_for(v, "recordings/2026/01/01/1.opus.enc", a), ES_ENOTFOUND);
	CHECK_INT(st_vault_shred(v, "recordings/2026/01/01/1.opus.enc", err, sizeof(err)),
		  ES_ENOTFOUND);
	CHECK_INT(decrypt_for(v, "recordings/2026/01/01/2.opus.enc", b), 0);
	st_vault_close(v);
}

/* One thread's turn: keys made, checked, freed. */
static void *dek_churn(void *arg)
{
	unsigned *bad = arg;
	static const uint8_t zero[ST_KEY_BYTES];
	for (int i = 0; i < 3000; i++) {
		uint8_t k[ST_KEY_BYTES];
		randombytes_buf(k, sizeof(k));
		struct st_dek *a = st_dek_new(), *b = st_dek_from_bytes(k);
		if (!a || !b || memcmp(b->k, k, sizeof(k)) || !memcmp(a->k, k, sizeof(k)) ||
		    !memcmp(a->k, zero, sizeof(zero)))
			(*bad)++;
		st_dek_free(a);
		st_dek_free(b);
	}
	return NULL;
}

/* Freed data keys' pages are reused (keyring.c's pool): keys made after
 * frees are fresh ones, and the pool is safe across threads. */
static void test_dek_pool(void)
{
	enum { N = 40 };
	struct st_dek *k[N];
	static uint8_t seen[3 * N][ST_KEY_BYTES];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			k[i] = st_dek_new();
			CHECK(k[i] != NULL);
			int at = round * N + i;
			memcpy(seen[at], k[i]->k, ST_KEY_BYTES);
			for (int j = 0; j < at; j++)
				CHECK(memcmp(seen[at], seen[j], ST_KEY_BYTES) != 0);
		}
		for (int i = 0; i < N; i++)
			st_dek_free(k[i]);
	}
	pthread_t th[3];
	unsigned bad[3] = {0};
	for (int t = 0; t < 3; t++)
		CHECK_INT(pthread_create(&th[t], NULL, dek_churn, &bad[t]), 0);
	for (int t = 0; t < 3; t++) {
		pthread_join(th[t], NULL);
		CHECK_INT(bad[t], 0);
	}
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	unsetenv("EARSHOT_KEK");
	snprintf(dir, sizeof(dir), "/tmp/earshot-vault-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	RUN(test_vault);
	RUN(test_dek_pool);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return CHECK_DONE();
}
