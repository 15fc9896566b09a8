/* test_nodes.c - recorder nodes on one index (index/nodes.c, schema
 * IDX_MIG_NODES, issue #16): names, the node kept with each call, heads
 * that never go back, calls in progress with their heartbeat; on SQLite,
 * and with --pg on a throwaway PostgreSQL (tests/pg_cluster.sh): two node
 * processes writing at once get distinct call ids and keep their names,
 * and each node owns only its own calls. */
#include "check.h"
#include "index/index.h"
#include "pg_helper.h"

#include <sys/wait.h>
#include <unistd.h>

static char where[256];
static bool pg_mode;

static struct idx *open_ix(const char *node)
{
	char err[512];
	struct idx *ix = NULL;
	if (idx_open(&ix, where, err, sizeof(err))) {
		fprintf(stderr, "idx_open: %s\n", err);
		exit(1);
	}
	CHECK_INT(idx_set_node(ix, node), 0);
	return ix;
}

static void fresh(void)
{
	if (pg_mode) {
		pgh_fresh(where, sizeof(where));
	} else {
		snprintf(where, sizeof(where), "/tmp/es_test_nodes_%d.sqlite", (int)getpid());
		unlink(where);
		char p[300];
		snprintf(p, sizeof(p), "%s-wal", where);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", where);
		unlink(p);
	}
}

static struct idx_call call(const char *id, int64_t start_s)
{
	return (struct idx_call){
		.call_id = id,
		.caller = {.uri = "sip:alice@example.com", .user = "alice"},
		.callee = {.uri = "sip:bob@example.com", .user = "bob"},
		.start_us = start_s * 1000000,
		.end_us = start_s * 1000000 + 2000000,
		.outcome = "answered",
		.source = "live",
	};
}

static void test_names(void)
{
	CHECK(idx_node_name_ok("rec-a"));
	CHECK(idx_node_name_ok("srs1.site_2"));
	CHECK(!idx_node_name_ok(""));
	CHECK(!idx_node_name_ok(NULL));
	CHECK(!idx_node_name_ok("-x"));
	CHECK(!idx_node_name_ok(".."));
	CHECK(!idx_node_name_ok("a/b"));
	CHECK(!idx_node_name_ok("a b"));
	CHECK(!idx_node_name_ok("a\tb"));
	char longname[80];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(!idx_node_name_ok(longname));
	longname[IDX_NODE_MAX - 1] = '\0';
	CHECK(idx_node_name_ok(longname));
}

struct seen {
	int n;
	int64_t id[64];
	char node[64][IDX_NODE_MAX];
};

static int seen_fn(void *ud, const struct idx_call *c)
{
	struct seen *s = ud;
	if (s->n < 64) {
		s->id[s->n] = c->id;
		snprintf(s->node[s->n], IDX_NODE_MAX, "%s", c->node ? c->node : "(null)");
		s->n++;
	}
	return 0;
}

/* Calls keep the node they were written with; an explicit node wins. */
static void test_call_node(void)
{
	fresh();
	struct idx *ix = open_ix("rec-a");
	CHECK_STR(idx_node(ix), "rec-a");
	CHECK_INT(idx_set_node(ix, "bad name"), ES_EINVAL);
	CHECK_STR(idx_node(ix), "rec-a");
	bool dup;
	struct idx_call a = call("a@x", 100), b = call("b@x", 200);
	CHECK_INT(idx_call_insert(ix, &a, &dup), 0);
	b.node = "rec-b";
	CHECK_INT(idx_call_insert(ix, &b, &dup), 0);
	CHECK_INT(idx_set_node(ix, NULL), 0);
	struct idx_call c = call("c@x", 300);
	CHECK_INT(idx_call_insert(ix, &c, &dup), 0);
	struct seen s = {0};
	CHECK_INT(idx_calls_list(ix, &(struct idx_filter){0}, seen_fn, &s), 0);
	CHECK_INT(s.n, 3);
	CHECK_STR(s.node[0], "rec-a");
	CHECK_STR(s.node[1], "rec-b");
	CHECK_STR(s.node[2], "(null)");
	/* ownership: an index of one node owns everything (a renamed host
	 * keeps its ledger whole); a shared one only its own and older calls */
	CHECK_INT(idx_set_node(ix, "rec-a"), 0);
	CHECK(idx_call_is_mine(ix, "rec-a"));
	CHECK(idx_call_is_mine(ix, NULL));
	CHECK_INT(idx_call_is_mine(ix, "rec-b"), !pg_mode);
	CHECK_INT(idx_shared(ix), pg_mode);
	idx_close(ix);
}

struct nodes_seen {
	int n;
	char name[8][IDX_NODE_MAX];
	char head[8][128];
	char active[8][128];
	uint64_t size[8];
	int64_t active_us[8];
	char ledger[8][64];
};

static int nodes_fn(void *ud, const struct idx_node *n)
{
	struct nodes_seen *s = ud;
	int i = s->n++;
	snprintf(s->name[i], IDX_NODE_MAX, "%s", n->name);
	snprintf(s->head[i], 128, "%s", n->head ? n->head : "(null)");
	snprintf(s->active[i], 128, "%s", n->active ? n->active : "(null)");
	snprintf(s->ledger[i], 64, "%s", n->ledger ? n->ledger : "(null)");
	s->size[i] = n->head_size;
	s->active_us[i] = n->active_us;
	return 0;
}

/* Heads never go back; calls in progress replace each other. */
static void test_publish(void)
{
	fresh();
	struct idx *ix = open_ix("rec-a");
	CHECK_INT(idx_node_head_set(ix, "rec-a", "/d/a/ledger", "earshot-head 1 5 x", 5, 10), 0);
	CHECK_INT(idx_node_head_set(ix, "rec-b", "/d/b/ledger", "earshot-head 1 2 y", 2, 11), 0);
	/* an older head (a ledger restored from an old copy) changes nothing */
	CHECK_INT(idx_node_head_set(ix, "rec-a", "/d/old/ledger", "earshot-head 1 3 z", 3, 12), 0);
	CHECK_INT(idx_node_head_set(ix, "rec-a", "/d/a/ledger", "earshot-head 1 7 w", 7, 13), 0);
	CHECK_INT(idx_node_head_set(ix, "bad/name", "/d", "h", 1, 1), ES_EINVAL);
	CHECK_INT(idx_node_active_set(ix, "rec-b", "earshot-active\t1\t...", 20), 0);
	CHECK_INT(idx_node_active_set(ix, "rec-b", NULL, 30), 0);
	CHECK_INT(idx_node_active_set(ix, "web-only", "list", 40), 0);
	struct nodes_seen s = {0};
	CHECK_INT(idx_nodes_list(ix, nodes_fn, &s), 0);
	CHECK_INT(s.n, 3);
	CHECK_STR(s.name[0], "rec-a");
	CHECK_STR(s.head[0], "earshot-head 1 7 w");
	CHECK_INT((int64_t)s.size[0], 7);
	CHECK_STR(s.ledger[0], "/d/a/ledger");
	CHECK_STR(s.active[0], "(null)");
	CHECK_STR(s.name[1], "rec-b");
	CHECK_STR(s.head[1], "earshot-head 1 2 y");
	CHECK_STR(s.active[1], "(null)"); /* stopped: its calls are gone */
	CHECK_INT(s.active_us[1], 30);
	CHECK_STR(s.name[2], "web-only");
	CHECK_STR(s.head[2], "(null)");
	CHECK_STR(s.active[2], "list");
	idx_close(ix);
}

#define PER_NODE 60

/* One node process: its calls, interleaved with the other node's. */
static int node_writer(const char *node)
{
	struct idx *ix = open_ix(node);
	char id[64];
	int bad = 0;
	for (int i = 0; i < PER_NODE && !bad; i++) {
		bool dup;
		snprintf(id, sizeof(id), "%s-%d@x", node, i);
		struct idx_call c = call(id, 1000 + i);
		bad |= idx_begin(ix) != 0;
		bad |= idx_call_insert(ix, &c, &dup) != 0 || dup || c.id <= 0;
		bad |= idx_commit(ix) != 0;
		bad |= idx_node_active_set(ix, node, "x", i) != 0;
		if (bad)
			fprintf(stderr, "%s at %d: %s\n", node, i, idx_errmsg(ix));
	}
	idx_close(ix);
	return bad;
}

struct owner_count {
	int n, mismatched;
};

static int owner_fn(void *ud, const struct idx_call *c)
{
	struct owner_count *o = ud;
	o->n++;
	/* each call's id is the node's own: its Call-ID names its node */
	if (!c->node || strncmp(c->call_id, c->node, strlen(c->node)) != 0)
		o->mismatched++;
	return 0;
}

static void test_two_nodes_at_once(void)
{
	fresh();
	const char *names[2] = {"rec-a", "srs-b"};
	pid_t pid[2];
	for (int k = 0; k < 2; k++)
		if ((pid[k] = fork()) == 0)
			_exit(node_writer(names[k]));
	for (int k = 0; k < 2; k++) {
		int st;
		CHECK(waitpid(pid[k], &st, 0) == pid[k]);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	struct idx *ix = open_ix("web-1");
	struct owner_count o = {0};
	CHECK_INT(idx_calls_list(ix, &(struct idx_filter){0}, owner_fn, &o), 0);
	CHECK_INT(o.n, 2 * PER_NODE);
	CHECK_INT(o.mismatched, 0);
	int64_t n = 0;
	CHECK_INT(idx_count_calls(ix, &n), 0);
	CHECK_INT(n, 2 * PER_NODE);
	struct nodes_seen s = {0};
	CHECK_INT(idx_nodes_list(ix, nodes_fn, &s), 0);
	CHECK_INT(s.n, 2);
	CHECK_INT(s.active_us[0], PER_NODE - 1);
	CHECK_INT(s.active_us[1], PER_NODE - 1);
	idx_close(ix);
	if (pg_mode) {
		char v[32];
		pgh_text(where, "SELECT count(DISTINCT id) FROM calls", v, sizeof(v));
		CHECK_INT(atoll(v), 2 * PER_NODE);
	}
}

static int run_all(void)
{
	RUN(test_names);
	RUN(test_call_node);
	RUN(test_publish);
	RUN(test_two_nodes_at_once);
	return 0;
}

int main(int argc, char **argv)
{
	es_log_set_level(ES_LOG_WARN);
	if (argc > 1 && !strcmp(argv[1], "--pg")) {
		int rc = pgh_start();
		if (rc) {
			fprintf(stderr, "no PostgreSQL cluster (%d): skipped\n", rc);
			return rc == 77 ? 77 : 1;
		}
		pg_mode = true;
		run_all();
		pgh_stop();
		return CHECK_DONE();
	}
	run_all();
	unlink(where);
	return CHECK_DONE();
}
