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

/* A remote (the shared index's stand-in: an in-memory table, the real
 * index is test_index.c's and test_pg_sharedkeys.py's): a second data
 * folder with the same keyring opens the first's recordings through it;
 * a shred there removes the remote copy; a folder without the KEK that
 * wrapped it gets ES_ENOKEK naming the KEK, not "shredded". */
struct table {
	char id[8][128];
	char wrapped[8][ST_WRAPPED_MAX + 8];
	int n;
};

static int t_get(void *ud, const char *rec_id, char *wrapped, size_t cap)
{
	struct table *t = ud;
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->id[i], rec_id)) {
			snprintf(wrapped, cap, "%s", t->wrapped[i]);
			return 0;
		}
	return ES_ENOTFOUND;
}

static int t_del(void *ud, const char *rec_id)
{
	struct table *t = ud;
	/* i < 8 as well: GCC's -O2 overflow warning cannot see that n <= 8 */
	for (int i = 0; i < t->n && i < 8; i++)
		if (!strcmp(t->id[i], rec_id))
			t->id[i][0] = '\0';
	return 0;
}

static int t_put(void *ud, const char *rec_id, const char *wrapped)
{
	struct table *t = ud;
	if (t->n == 8)
		return ES_ELIMIT;
	snprintf(t->id[t->n], sizeof(t->id[0]), "%s", rec_id);
	snprintf(t->wrapped[t->n], sizeof(t->wrapped[0]), "%s", wrapped);
	t->n++;
	return 0;
}

static void test_remote(void)
{
	char err[256], rec[300], web[300], other[300], path[300], cmd[1200];
	snprintf(rec, sizeof(rec), "%s/rec", dir);
	snprintf(web, sizeof(web), "%s/web", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	struct st_vault *v = NULL, *w = NULL, *o = NULL;
	CHECK_INT(st_vault_open(&v, rec, true, err, sizeof(err)), 0);
	const char *id = "recordings/2026/02/02/9.opus.enc";
	snprintf(path, sizeof(path), "%s/9.enc", dir);
	encrypt_for(v, id, path);
	struct table t = {0};
	CHECK_INT(st_vault_each(v, t_put, &t), 0);
	CHECK_INT(t.n, 1);
	char wrapped[ST_WRAPPED_MAX + 8];
	CHECK_INT(st_vault_wrapped(v, id, wrapped, sizeof(wrapped)), 0);
	CHECK_STR(t.wrapped[0], wrapped);
	CHECK(!strncmp(wrapped, "v1:", 3));

	/* the web node: the same keyring file, no key files */
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/keys && cp -p %s/keys/kek.keys %s/keys/", web, rec,
		 web);
	CHECK_INT(system(cmd), 0);
	CHECK_INT(st_vault_open(&w, web, false, err, sizeof(err)), 0);
	CHECK(!st_vault_has_key(w, id));
	CHECK_INT(decrypt_for(w, id, path), ES_ENOTFOUND);
	const struct st_vault_remote r = {.get = t_get, .del = t_del, .ud = &t};
	st_vault_set_remote(w, &r);
	CHECK(st_vault_has_key(w, id));
	CHECK_INT(decrypt_for(w, id, path), 0);

	/* another folder, its own KEK: the KEK is named, it is no shred */
	CHECK_INT(st_vault_open(&o, other, true, err, sizeof(err)), 0);
	st_vault_set_remote(o, &r);
	struct st_dek *dek = NULL;
	CHECK_INT(st_vault_key(o, id, &dek, err, sizeof(err)), ES_ENOKEK);
	CHECK(strstr(err, "is not in the keyring") != NULL);

	/* rewrap (the TOTP secrets' rotation): same key inside, current KEK */
	CHECK_INT(st_vault_rewrap(v, id, wrapped, wrapped, sizeof(wrapped), err, sizeof(err)), 0);
	CHECK(strcmp(wrapped, t.wrapped[0]) != 0);

	/* a shred on the web node removes the remote copy too */
	CHECK_INT(st_vault_shred(w, id, err, sizeof(err)), 0);
	CHECK(!st_vault_has_key(w, id));
	CHECK_INT(decrypt_for(w, id, path), ES_ENOTFOUND);
	CHECK_INT(st_vault_shred(w, id, err, sizeof(err)), ES_ENOTFOUND);
	st_vault_close(o);
	st_vault_close(w);
	st_vault_close(v);
}

/* Issue #16: a long-running process follows a rotation made by another
 * without a restart: the recorder's own serve (the same folder) and a web
 * node given the rotated kek.keys (a copy) open keys wrapped by the new
 * KEK, and a recorder wraps its next key with it; a copy left at the old
 * keyring answers ES_ENOKEK naming the KEK. */
static void test_follow_rotation(void)
{
	char err[512], rec[300], web[300], old[300], path[300], cmd[1600];
	snprintf(rec, sizeof(rec), "%s/frec", dir);
	snprintf(web, sizeof(web), "%s/fweb", dir);
	snprintf(old, sizeof(old), "%s/fold", dir);
	struct st_vault *running = NULL, *rot = NULL, *w = NULL, *o = NULL;
	CHECK_INT(st_vault_open(&running, rec, true, err, sizeof(err)), 0);
	for (const char *d = web; d; d = d == web ? old : NULL) {
		snprintf(cmd, sizeof(cmd), "mkdir -p %s/keys/dek && cp -p %s/keys/kek.keys %s/keys/",
			 d, rec, d);
		CHECK_INT(system(cmd), 0);
	}
	CHECK_INT(st_vault_open(&w, web, false, err, sizeof(err)), 0);
	CHECK_INT(st_vault_open(&o, old, false, err, sizeof(err)), 0);
	char first[ST_KEK_ID_MAX + 1];
	snprintf(first, sizeof(first), "%s", st_vault_kek_id(running));

	/* another process rotates */
	unsigned n = 0;
	CHECK_INT(st_vault_open(&rot, rec, false, err, sizeof(err)), 0);
	CHECK_INT(st_vault_rotate(rot, &n, err, sizeof(err)), 0);
	char cur[ST_KEK_ID_MAX + 1];
	snprintf(cur, sizeof(cur), "%s", st_vault_kek_id(rot));
	CHECK(strcmp(cur, first) != 0);
	st_vault_close(rot);

	/* the running recorder wraps its next recording with the new KEK */
	const char *id = "recordings/2026/12/07/rot.opus.enc";
	snprintf(path, sizeof(path), "%s/rot.enc", dir);
	encrypt_for(running, id, path);
	char wrapped[ST_WRAPPED_MAX + 8], want[64];
	CHECK_INT(st_vault_wrapped(running, id, wrapped, sizeof(wrapped)), 0);
	snprintf(want, sizeof(want), "v1:%s:", cur);
	CHECK(!strncmp(wrapped, want, strlen(want)));
	CHECK_INT(decrypt_for(running, id, path), 0);

	/* a web node: its copy of the keyring replaced by the rotated one
	 * (written beside and renamed, as an operator's copy should be) */
	char wk[800];
	snprintf(wk, sizeof(wk), "%s/keys/dek/%s", web, "recordings~2026~12~07~rot.opus.enc.dek");
	FILE *f = fopen(wk, "w");
	CHECK(f != NULL);
	fprintf(f, "%s\n", wrapped);
	fclose(f);
	snprintf(wk, sizeof(wk), "%s/keys/dek/%s", old, "recordings~2026~12~07~rot.opus.enc.dek");
	f = fopen(wk, "w");
	CHECK(f != NULL);
	fprintf(f, "%s\n", wrapped);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cp -p %s/keys/kek.keys %s/keys/kek.new && mv %s/keys/kek.new "
		 "%s/keys/kek.keys", rec, web, web, web);
	CHECK_INT(system(cmd), 0);
	CHECK_INT(decrypt_for(w, id, path), 0);
	CHECK_STR(st_vault_kek_id(w), cur);

	/* the node still holding only the old keyring: named, not a shred */
	struct st_dek *dek = NULL;
	CHECK_INT(st_vault_key(o, id, &dek, err, sizeof(err)), ES_ENOKEK);
	CHECK(strstr(err, cur) != NULL);
	CHECK(strstr(err, "kek.keys") != NULL);
	st_vault_close(o);
	st_vault_close(w);
	st_vault_close(running);
}

struct reader {
	struct st_vault *v;
	const char *id;
	volatile int *stop;
	unsigned bad, ok;
};

/* One thread's turn: the key of r->id, unwrapped again and again while
 * another process rotates (a rewrapped key names a KEK this vault learns
 * only by reading the keyring again, under the writer side of its lock). */
static void *read_keys(void *arg)
{
	struct reader *r = arg;
	while (!*r->stop) {
		struct st_dek *dek = NULL;
		char err[512];
		/* the rewrap replaces the key file by a rename: never half one */
		int rc = st_vault_key(r->v, r->id, &dek, err, sizeof(err));
		if (rc)
			r->bad++;
		else
			r->ok++;
		st_dek_free(dek);
	}
	return NULL;
}

/* Several threads unwrap while the keyring is rotated five times by
 * another handle: every unwrap succeeds (ASan/TSan builds check the swap). */
static void test_follow_threads(void)
{
	char err[512], d[300], path[300];
	snprintf(d, sizeof(d), "%s/fthr", dir);
	struct st_vault *v = NULL, *rot = NULL;
	CHECK_INT(st_vault_open(&v, d, true, err, sizeof(err)), 0);
	const char *id = "recordings/2026/12/07/thr.opus.enc";
	snprintf(path, sizeof(path), "%s/thr.enc", dir);
	encrypt_for(v, id, path);
	CHECK_INT(st_vault_open(&rot, d, false, err, sizeof(err)), 0);
	volatile int stop = 0;
	struct reader rd[3];
	pthread_t th[3];
	for (int i = 0; i < 3; i++) {
		rd[i] = (struct reader){.v = v, .id = id, .stop = &stop};
		CHECK_INT(pthread_create(&th[i], NULL, read_keys, &rd[i]), 0);
	}
	for (int i = 0; i < 5; i++) {
		unsigned n = 0;
		CHECK_INT(st_vault_rotate(rot, &n, err, sizeof(err)), 0);
		usleep(20000);
	}
	stop = 1;
	unsigned ok = 0;
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT(rd[i].bad, 0);
		ok += rd[i].ok;
	}
	CHECK(ok > 0);
	CHECK_INT(decrypt_for(v, id, path), 0); /* after the last rewrap */
	CHECK_STR(st_vault_kek_id(v), st_vault_kek_id(rot));
	CHECK_INT(st_vault_kek_count(v), 6);
	st_vault_close(rot);
	st_vault_close(v);
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
	RUN(test_remote);
	RUN(test_follow_rotation);
	RUN(test_follow_threads);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return CHECK_DONE();
}
