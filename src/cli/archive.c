/* archive.c - the evidence parts of a data folder for the commands that
 * store recordings: the vault (encryption at rest), the ledger, and the
 * anchors that publish its signed heads outside the data folder. */
#include "cli/cli.h"
#include "core/config.h"
#include "store/ledger.h"
#include "store/vault.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int cli_ledger_apply_config(struct cli_ledger_settings *o, const struct es_conf *c, char *err,
			    size_t errlen)
{
	static const char *const k_ledger[] = {"signing_key", NULL};
	static const char *const k_anchor[] = {"file", "syslog", "command", "retry", "timeout",
					       NULL};
	int rc;
	if ((rc = es_conf_check_keys(c, "ledger", k_ledger, err, errlen)) ||
	    (rc = es_conf_check_keys(c, "anchor", k_anchor, err, errlen)))
		return rc;
	const struct es_conf_entry *e = es_conf_find(c, "ledger", "signing_key");
	if (e) {
		if (e->value[0] != '/' || strlen(e->value) >= sizeof(o->key_path))
			return es_errf(err, errlen, ES_EPARSE,
				       "%s:%u: signing_key: '%s' is not an absolute path", c->path,
				       e->line, e->value);
		snprintf(o->key_path, sizeof(o->key_path), "%s", e->value);
	}
	/* every sink, in the file's order (the keys repeat) */
	for (size_t i = 0; i < c->n; i++) {
		e = &c->e[i];
		if (strcasecmp(e->section, "anchor") || !strcmp(e->key, "retry") ||
		    !strcmp(e->key, "timeout"))
			continue;
		char why[256];
		if (st_anchor_conf_add(&o->anchor, e->key, e->value, why, sizeof(why)))
			return es_errf(err, errlen, ES_EPARSE, "%s:%u: [anchor] %s", c->path, e->line,
				       why);
	}
	if ((rc = es_conf_duration(c, "anchor", "retry", &o->anchor.retry_us, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	if ((rc = es_conf_duration(c, "anchor", "timeout", &o->anchor.timeout_us, err, errlen)) &&
	    rc != ES_ENOTFOUND)
		return rc;
	return 0;
}

static void publish_newest(struct cli_archive *a)
{
	size_t n = a->ledger ? st_ledger_head_count(a->ledger) : 0;
	struct st_head h;
	if (a->anchor && n && st_ledger_head(a->ledger, n - 1, &h) == 0)
		st_anchor_publish(a->anchor, &h);
}

int cli_archive_open(struct cli_ctx *ctx, struct idx *ix, bool encrypt, struct cli_archive *a,
		     const char *cmd)
{
	char err[1024];
	const struct cli_ledger_settings *ls = a->settings;
	a->vault = NULL;
	a->ledger = NULL;
	a->anchor = NULL;
	if (encrypt && st_vault_open(&a->vault, ctx->data_dir, true, err, sizeof(err))) {
		fprintf(stderr, "%s: encryption keys: %s\n", cmd, err);
		return CLI_ERR;
	}
	if (rec_ledger_open(ctx->data_dir, ix, true, ls && ls->key_path[0] ? ls->key_path : NULL,
			    &a->ledger, NULL, err, sizeof(err))) {
		fprintf(stderr, "%s: integrity ledger: %s\n", cmd, err);
		cli_archive_close(a);
		return CLI_ERR;
	}
	/* transcripts: those without a leaf (a crash, or made before they
	 * were sealed), then those queued by workers while nobody held it */
	a->data_dir = ctx->data_dir;
	a->ix = ix;
	unsigned n = 0;
	if (rec_tr_ledger_catch_up(ctx->data_dir, ix, a->vault, a->ledger, &n, err, sizeof(err)) ||
	    (n && st_ledger_commit(a->ledger)))
		ES_LOG_ERR("ledger", "%s: transcripts not entered: %s", cmd, err);
	cli_archive_drain(a);
	if (ls && ls->anchor.nsinks) {
		if (st_anchor_new(&a->anchor, &ls->anchor, err, sizeof(err))) {
			fprintf(stderr, "%s: anchors: %s\n", cmd, err);
			cli_archive_close(a);
			return CLI_ERR;
		}
		/* the newest head again: whatever an earlier run could not
		 * publish is covered by it */
		publish_newest(a);
	}
	return CLI_OK;
}

void cli_archive_drain(struct cli_archive *a)
{
	char err[600] = "";
	unsigned n = 0;
	if (!a->ledger || !a->data_dir || !a->ix)
		return;
	a->drained_us = es_mono_us();
	if (rec_tr_ledger_drain(a->data_dir, a->ix, a->ledger, &n, err, sizeof(err)))
		ES_LOG_ERR("ledger", "queued transcript leaves: %s", err);
	else if (n)
		ES_LOG_INF("ledger", "%u transcript(s) sealed into the ledger", n);
}

void cli_tr_seal_try(struct cli_ctx *ctx, struct idx *ix, const struct es_conf *conf)
{
	char ldir[4200], entries[4300], err[600] = "";
	struct cli_ledger_settings ls = {0};
	struct st_ledger *l = NULL;
	unsigned n = 0;
	snprintf(ldir, sizeof(ldir), "%s/ledger", ctx->data_dir);
	snprintf(entries, sizeof(entries), "%s/entries.log", ldir);
	if (access(entries, F_OK))
		return; /* no ledger yet: the first recorder makes it */
	if (conf && cli_ledger_apply_config(&ls, conf, err, sizeof(err)))
		return;
	int rc = st_ledger_open_key(&l, ldir, 0, ls.key_path[0] ? ls.key_path : NULL, err,
				    sizeof(err));
	if (rc) {
		/* held (a recorder: its loop drains the queue) or no key here */
		ES_LOG_DBG("ledger", "transcripts stay queued: %s", err);
		return;
	}
	if (rec_tr_ledger_drain(ctx->data_dir, ix, l, &n, err, sizeof(err)))
		ES_LOG_ERR("ledger", "queued transcript leaves: %s", err);
	else if (n)
		ES_LOG_INF("ledger", "%u transcript(s) sealed into the ledger", n);
	/* redactions queued while a recorder held the ledger (one that has
	 * stopped since): this process holds it now */
	if (!rec_redact_queue_pending(ctx->data_dir)) {
		st_ledger_close(l);
		return;
	}
	const struct es_conf_entry *m = conf ? es_conf_find(conf, "redaction", "original") : NULL;
	struct cli_redactor e = {.ctx = ctx, .ix = ix, .ledger = l,
				 .shred = m && !strcmp(m->value, "shred")};
	char kdir[4200];
	snprintf(kdir, sizeof(kdir), "%s/keys", ctx->data_dir);
	if (access(kdir, F_OK) == 0 && st_vault_open(&e.vault, ctx->data_dir, false, err,
						    sizeof(err)))
		ES_LOG_ERR("ledger", "queued redactions wait: encryption keys: %s", err);
	else
		cli_redact_queue_run(&e, 0, NULL);
	st_vault_close(e.vault);
	st_ledger_close(l);
}

int cli_archive_commit(struct cli_archive *a)
{
	/* transcripts queued by workers (another process, or this one's
	 * transcription thread), about once a second */
	if (es_mono_us() - a->drained_us >= ES_US_PER_SEC)
		cli_archive_drain(a);
	size_t before = a->ledger ? st_ledger_head_count(a->ledger) : 0;
	int rc = a->ledger ? st_ledger_commit(a->ledger) : 0;
	if (rc)
		ES_LOG_ERR("ledger", "cannot commit the integrity ledger: %s", es_strerror(rc));
	else if (a->ledger && st_ledger_head_count(a->ledger) > before)
		publish_newest(a);
	return rc;
}

void cli_archive_status(struct cli_archive *a, struct es_json *j)
{
	es_json_arr_begin(j);
	const struct st_anchor_conf *c = a->settings ? &a->settings->anchor : NULL;
	struct st_anchor_stats st;
	for (unsigned i = 0; a->anchor && c && i < c->nsinks; i++) {
		if (st_anchor_stats(a->anchor, i, &st))
			break;
		static const char *const kinds[] = {"", "file", "syslog", "command"};
		char sink[ST_ANCHOR_TARGET_MAX + 16];
		snprintf(sink, sizeof(sink), "%s %s", kinds[c->sink[i].kind], c->sink[i].target);
		es_json_obj_begin(j);
		es_json_key(j, "sink"); es_json_str(j, sink);
		es_json_key(j, "published"); es_json_int(j, (int64_t)st.published);
		es_json_key(j, "failures"); es_json_int(j, (int64_t)st.failures);
		es_json_key(j, "skipped"); es_json_int(j, (int64_t)st.skipped);
		es_json_key(j, "pending"); es_json_int(j, (int64_t)st.pending);
		es_json_key(j, "last_error"); es_json_str(j, st.last_error[0] ? st.last_error : NULL);
		es_json_obj_end(j);
	}
	es_json_arr_end(j);
}

void cli_archive_close(struct cli_archive *a)
{
	st_anchor_free(a->anchor); /* waits up to [anchor] timeout for what is queued */
	st_ledger_close(a->ledger);
	st_vault_close(a->vault);
	a->anchor = NULL;
	a->ledger = NULL;
	a->vault = NULL;
}
