/* nodes.c - several recorder and web nodes on one shared index (issue #16,
 * docs/OPERATIONS.md "Several nodes"): this node's name, and what a
 * recorder publishes into the index's nodes table (index/nodes.c): its
 * ledger's newest signed head and its calls in progress, with a heartbeat. */
#include "cli/cli.h"
#include "store/ledger.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAG "nodes"

int cli_node_name(struct cli_ctx *ctx, char *buf, size_t cap)
{
	if (ctx->node) {
		if (!idx_node_name_ok(ctx->node) || strlen(ctx->node) >= cap) {
			fprintf(stderr, "%s: node '%s': a node name is 1-63 letters, digits, '.', "
				"'_' or '-', not starting with '.' or '-'\n", ctx->prog, ctx->node);
			return ES_EINVAL;
		}
		snprintf(buf, cap, "%s", ctx->node);
		return 0;
	}
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1) || !host[0])
		snprintf(host, sizeof(host), "localhost");
	size_t n = 0;
	for (const char *p = host; *p && n + 1 < cap && n + 1 < IDX_NODE_MAX; p++) {
		char ch = *p;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
		buf[n++] = ok ? ch : '-';
	}
	buf[n] = '\0';
	if (!idx_node_name_ok(buf))
		snprintf(buf, cap, "unnamed");
	return 0;
}

int cli_node_publish_head_of(struct cli_ctx *ctx, struct idx *ix, const struct st_head *h)
{
	const char *node = idx_node(ix);
	char line[ST_LEDGER_LINE_MAX], dir[PATH_MAX + 16], abs[PATH_MAX];
	if (!idx_shared(ix) || !node || st_head_format_published(h, line, sizeof(line)) < 0)
		return 0;
	/* where the ledger lives, as `verify --nodes` on another machine reads
	 * it: the data folder's absolute path (a shared mount) */
	if (!realpath(ctx->data_dir, abs))
		snprintf(abs, sizeof(abs), "%s", ctx->data_dir);
	snprintf(dir, sizeof(dir), "%s/ledger", abs);
	if (idx_node_head_set(ix, node, dir, line, h->size, cli_wall_us())) {
		ES_LOG_WARNING(TAG, "the ledger's head could not be published (retried at the next "
			       "commit): %s", idx_errmsg(ix));
		return ES_EDB;
	}
	return 0;
}

void cli_node_publish_head(struct cli_run *r)
{
	struct st_ledger *l = r->arc.ledger;
	size_t n = l ? st_ledger_head_count(l) : 0;
	if (!r->shared || !idx_node(r->ix) || n == 0 || n == r->heads_published)
		return;
	struct st_head h;
	if (st_ledger_head(l, n - 1, &h) || cli_node_publish_head_of(r->ctx, r->ix, &h))
		return;
	r->heads_published = n;
}

void cli_node_publish_active(struct cli_run *r, bool stopping)
{
	const char *node = idx_node(r->ix);
	if (!r->shared || !node)
		return;
	char *text = NULL;
	int64_t now = cli_wall_us();
	if (!stopping && rec_active_text(r->active, r->nactive, now, &text)) {
		ES_LOG_WARNING(TAG, "the calls in progress: out of memory");
		return;
	}
	if (idx_node_active_set(r->ix, node, text, now))
		ES_LOG_WARNING(TAG, "the calls in progress could not be published: %s",
			       idx_errmsg(r->ix));
	free(text);
}

struct clash {
	const char *node, *ledger;
	char other[PATH_MAX + 16];
};

static int clash_fn(void *ud, const struct idx_node *n)
{
	struct clash *c = ud;
	if (!strcmp(n->name, c->node) && n->ledger && strcmp(n->ledger, c->ledger))
		snprintf(c->other, sizeof(c->other), "%s", n->ledger);
	return 0;
}

void cli_node_check(struct cli_run *r)
{
	const char *node = idx_node(r->ix);
	char abs[PATH_MAX], dir[PATH_MAX + 16];
	if (!r->shared || !node)
		return;
	if (!realpath(r->ctx->data_dir, abs))
		snprintf(abs, sizeof(abs), "%s", r->ctx->data_dir);
	snprintf(dir, sizeof(dir), "%s/ledger", abs);
	struct clash c = {node, dir, ""};
	if (idx_nodes_list(r->ix, clash_fn, &c) == 0 && c.other[0])
		ES_LOG_WARNING(TAG, "node %s already published its ledger at %s, and this data folder's "
			       "is %s: two recorders under one node name each take the other's calls "
			       "into their ledgers (give each its own [earshot] node; a moved folder "
			       "is fine)", node, c.other, dir);
}
