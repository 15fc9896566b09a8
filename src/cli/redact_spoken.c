/* redact_spoken.c - a spoken number's audio redacted (issue #19): carried
 * out at once when the caller can get the ledger, else queued for its
 * holder (record/redact_queue.c), and the holder's side: the queue run
 * with the ledger in hand (`transcribe run` after a job), and the
 * recorder's own redaction thread, which shares the recorder's ledger
 * with its loop through a mutex and never runs on the capture path.
 * Every redaction is audited as `earshot redact` audits one. */
#include "api/api.h"
#include "cli/cli.h"
#include "index/index.h"
#include "record/record.h"
#include "store/ledger.h"
#include "store/vault.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TAG "redact"
#define BG_POLL_US (ES_US_PER_SEC)          /* the queue looked at */
#define BG_RETRY_US (30 * ES_US_PER_SEC)    /* after a failure that may pass */
#define RUN_MAX 16                          /* redactions per pass */

/* ---- one redaction, audited --------------------------------------------------------- */

int cli_redact_job(const struct cli_redactor *e, const struct rec_redact_job *jb, char *err,
		   size_t errlen)
{
	char detail[1400], obj[32], actor[128];
	struct rec_redact_req q = {.data_dir = e->ctx->data_dir, .ix = e->ix, .ledger = e->ledger,
				   .vault = e->vault, .call_row = jb->call_row,
				   .from_us = jb->from_us, .to_us = jb->to_us,
				   .channel = jb->channel, .fill = jb->fill, .reason = jb->reason,
				   .by = jb->by, .shred_original = e->shred,
				   .now_us = cli_wall_us(), .hold = e->hold, .hold_ud = e->hold_ud};
	struct rec_redact_result res;
	*err = 0;
	int rc = rec_redact(&q, &res, err, errlen);
	snprintf(obj, sizeof(obj), "%lld", (long long)jb->call_row);
	cli_actor(actor, sizeof(actor));
	if (rc == ES_EHELD) {
		cli_audit_refusal(e->ix, "call.redact", jb->call_row, res.held);
	} else if (!rc || res.path[0]) {
		snprintf(detail, sizeof(detail), "redaction %d: %s %.3f-%.3f s (%s) by %s, "
			 "original %s%s: %s", res.n, jb->channel, jb->from_us / 1e6,
			 jb->to_us / 1e6, jb->fill ? jb->fill : "silence", jb->by,
			 res.shredded ? "shredded" : "kept (restricted)", rc ? " (incomplete)" : "",
			 jb->reason);
		api_audit_append(e->ix, q.now_us, actor, "call.redact", obj, "",
				 rc ? API_AUDIT_FAILED : API_AUDIT_OK, detail, NULL);
	}
	if (!rc)
		ES_LOG_INF(TAG, "call %lld: %.3f-%.3f s of the %s redacted (%s): %s",
			   (long long)jb->call_row, jb->from_us / 1e6, jb->to_us / 1e6, jb->channel,
			   jb->reason, res.path);
	return rc;
}

/* ---- the queue, with the ledger in hand ----------------------------------------------- */

struct run_ctx {
	const struct cli_redactor *e;
	unsigned done, max;
	bool retry; /* a failure that may pass: the next pass later */
	atomic_int *stop;
};

/* A failure that later runs cannot mend: the job is dropped (logged, and
 * audited by cli_redact_job where it got that far). */
static bool for_good(int rc)
{
	return rc == ES_EINVAL || rc == ES_ENOTFOUND || rc == ES_EHELD;
}

static int run_take(void *ud, const struct rec_redact_job *jb)
{
	struct run_ctx *k = ud;
	char err[1024] = "";
	bool done = false;
	if (k->done >= k->max || (k->stop && atomic_load(k->stop)))
		return 1;
	int rc = rec_redact_queue_is_done(k->e->ix, jb, &done);
	if (!rc && done) {
		rec_redact_queue_done(jb); /* a crash after its commit */
		return 0;
	}
	if (!rc)
		rc = cli_redact_job(k->e, jb, err, sizeof(err));
	k->done++;
	if (!rc || for_good(rc)) {
		if (rc)
			ES_LOG_ERR(TAG, "call %lld: the queued redaction (%s) is dropped: %s",
				   (long long)jb->call_row, jb->reason, err);
		rec_redact_queue_done(jb);
		return 0;
	}
	/* it stays queued (and shown pending); the others are not held up by
	 * one recording that cannot be read now */
	ES_LOG_ERR(TAG, "call %lld: the queued redaction (%s) failed, tried again later: %s",
		   (long long)jb->call_row, jb->reason, *err ? err : es_strerror(rc));
	k->retry = true;
	return 0;
}

int cli_redact_queue_run(const struct cli_redactor *e, unsigned max, unsigned *ran)
{
	struct run_ctx k = {.e = e, .max = max ? max : RUN_MAX};
	int rc = rec_redact_queue_each(e->ctx->data_dir, 0, run_take, &k);
	if (ran)
		*ran = k.done;
	return rc < 0 ? rc : k.retry ? ES_EAGAIN : 0;
}

/* ---- a worker's redaction: now, or queued ------------------------------------------------ */

int cli_redact_or_queue(struct cli_ctx *ctx, struct idx *ix, bool shred,
			const struct rec_redact_job *jb, bool *queued)
{
	char ldir[4200], kdir[4200], err[1024] = "";
	struct st_ledger *l = NULL;
	struct st_vault *v = NULL;
	*queued = false;
	snprintf(ldir, sizeof(ldir), "%s/ledger", ctx->data_dir);
	snprintf(kdir, sizeof(kdir), "%s/keys", ctx->data_dir);
	/* the ledger is opened per redaction: a recorder may want its lock */
	int rc = st_ledger_open(&l, ldir, ST_LEDGER_CREATE, err, sizeof(err));
	if (rc == ES_EAGAIN) {
		/* its holder (the recorder) carries it out; durable first */
		struct rec_redact_job q = *jb;
		q.queued_us = cli_wall_us();
		if ((rc = rec_redact_queue_put(ctx->data_dir, &q, err, sizeof(err)))) {
			ES_LOG_ERR(TAG, "call %lld: the redaction cannot be queued: %s",
				   (long long)jb->call_row, err);
			return rc;
		}
		*queued = true;
		ES_LOG_INF(TAG, "call %lld: the ledger is held (a running recorder): the "
			   "redaction of %.3f-%.3f s is queued for it", (long long)jb->call_row,
			   jb->from_us / 1e6, jb->to_us / 1e6);
		return 0;
	}
	if (rc) {
		ES_LOG_ERR(TAG, "call %lld: cannot open the ledger for writing: %s",
			   (long long)jb->call_row, *err ? err : es_strerror(rc));
		return rc;
	}
	if (access(kdir, F_OK) == 0 && st_vault_open(&v, ctx->data_dir, false, err, sizeof(err))) {
		ES_LOG_ERR(TAG, "encryption keys: %s", err);
		st_ledger_close(l);
		return ES_EIO;
	}
	struct cli_redactor e = {.ctx = ctx, .ix = ix, .ledger = l, .vault = v, .shred = shred};
	/* what was queued earlier first: the order they were asked in */
	cli_redact_queue_run(&e, 0, NULL);
	rc = cli_redact_job(&e, jb, err, sizeof(err));
	if (rc)
		ES_LOG_ERR(TAG, "call %lld: %s", (long long)jb->call_row, err);
	st_vault_close(v);
	st_ledger_close(l);
	return rc;
}

/* ---- the recorder's redaction thread ---------------------------------------------------- */

struct cli_redact_bg {
	struct cli_ctx *ctx;
	struct st_ledger *ledger;
	pthread_mutex_t *mu;
	bool shred;
	pthread_t th;
	atomic_int stop;
};

static void bg_hold(void *ud, bool on)
{
	struct cli_redact_bg *b = ud;
	if (on)
		pthread_mutex_lock(b->mu);
	else
		pthread_mutex_unlock(b->mu);
}

static void bg_sleep(struct cli_redact_bg *b, int64_t us)
{
	for (int64_t t = 0; t < us && !atomic_load(&b->stop); t += 100 * 1000)
		usleep(100 * 1000);
}

static void *bg_main(void *ud)
{
	struct cli_redact_bg *b = ud;
	/* background work: decoding and encoding yield to capture */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10))
		ES_LOG_DBG(TAG, "setpriority: %s", strerror(errno));
	struct idx *ix = NULL;
	struct st_vault *v = NULL;
	char kdir[4200], err[512] = "";
	snprintf(kdir, sizeof(kdir), "%s/keys", b->ctx->data_dir);
	while (!atomic_load(&b->stop)) {
		if (!rec_redact_queue_pending(b->ctx->data_dir)) {
			bg_sleep(b, BG_POLL_US);
			continue;
		}
		/* its own index handle and keys, opened on first need */
		if (!ix && cli_open_index(b->ctx, false, &ix)) {
			ix = NULL;
			bg_sleep(b, BG_RETRY_US);
			continue;
		}
		if (!v && access(kdir, F_OK) == 0 &&
		    st_vault_open(&v, b->ctx->data_dir, false, err, sizeof(err))) {
			ES_LOG_ERR(TAG, "queued redactions wait: encryption keys: %s", err);
			v = NULL;
			bg_sleep(b, BG_RETRY_US);
			continue;
		}
		struct cli_redactor e = {.ctx = b->ctx, .ix = ix, .ledger = b->ledger, .vault = v,
					 .shred = b->shred, .hold = bg_hold, .hold_ud = b};
		struct run_ctx k = {.e = &e, .max = RUN_MAX, .stop = &b->stop};
		int rc = rec_redact_queue_each(b->ctx->data_dir, 0, run_take, &k);
		bg_sleep(b, rc < 0 || k.retry ? BG_RETRY_US : BG_POLL_US);
	}
	st_vault_close(v);
	idx_close(ix);
	return NULL;
}

int cli_redact_bg_start(struct cli_ctx *ctx, const char *config, struct st_ledger *ledger,
			pthread_mutex_t *mu, struct cli_redact_bg **out)
{
	*out = NULL;
	struct cli_redact_bg *b = calloc(1, sizeof(*b));
	if (!b)
		return CLI_ERR;
	if (cli_redaction_mode(config, NULL, &b->shred)) {
		free(b);
		return CLI_USAGE;
	}
	b->ctx = ctx;
	b->ledger = ledger;
	b->mu = mu;
	atomic_init(&b->stop, 0);
	if (pthread_create(&b->th, NULL, bg_main, b)) {
		free(b);
		return CLI_ERR;
	}
	*out = b;
	return CLI_OK;
}

void cli_redact_bg_stop(struct cli_redact_bg *b)
{
	if (!b)
		return;
	atomic_store(&b->stop, 1); /* a redaction under way finishes first */
	pthread_join(b->th, NULL);
	free(b);
}
