/* verify_nodes.c - `earshot verify --nodes`: on an index shared by several
 * recorder nodes (docs/OPERATIONS.md, "Several nodes"), each node's ledger
 * and the recordings it names, one node after another.  Each node
 * published where its ledger lives (its data folder, reachable here: a
 * shared mount) and its newest signed head (index/nodes.c); the node's
 * folder is checked as `EARSHOT_NODE=NAME earshot --data FOLDER verify
 * --head HEAD` would, so the ledger must also extend the head the index
 * holds (a truncated or rolled-back ledger is a finding). */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VERIFY_CMD "earshot verify"

struct vn_node {
	char *name, *ledger, *head;
};

struct vn_list {
	struct vn_node *v;
	size_t n, cap;
	bool oom;
};

static int take_node(void *ud, const struct idx_node *n)
{
	struct vn_list *l = ud;
	if (!n->ledger)
		return 0; /* a node that never committed a ledger head */
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->v, cap * sizeof(*l->v));
		if (!p)
			return l->oom = true, ES_ENOMEM;
		l->v = p;
		l->cap = cap;
	}
	struct vn_node *e = &l->v[l->n];
	e->name = strdup(n->name);
	e->ledger = strdup(n->ledger);
	e->head = n->head ? strdup(n->head) : NULL;
	if (!e->name || !e->ledger || (n->head && !e->head)) {
		free(e->name);
		free(e->ledger);
		free(e->head);
		return l->oom = true, ES_ENOMEM;
	}
	l->n++;
	return 0;
}

/* The published head into a private temporary file: its name in path. */
static int head_file(const char *head, char *path, size_t cap)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(path, cap, "%s/earshot-head-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		return ES_EIO;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(path);
		return ES_EIO;
	}
	bool ok = fprintf(f, "%s\n", head) > 0;
	if (fclose(f) || !ok) {
		unlink(path);
		return ES_EIO;
	}
	return 0;
}

int cli_verify_nodes(struct cli_ctx *ctx, cli_verify_node_fn run, void *ud)
{
	struct idx *ix = NULL;
	struct vn_list l = {0};
	if (cli_open_index(ctx, false, &ix))
		return 3;
	int rc = idx_nodes_list(ix, take_node, &l);
	if (rc && !l.oom)
		fprintf(stderr, "%s: %s\n", VERIFY_CMD, idx_errmsg(ix));
	idx_close(ix);
	if (l.oom)
		fprintf(stderr, "%s: out of memory\n", VERIFY_CMD);
	if (rc || l.oom)
		goto out;
	if (!l.n) {
		fprintf(stderr, "%s: --nodes: no node has published a ledger in this index (only "
			"recorders on a shared PostgreSQL index do)\n", VERIFY_CMD);
		rc = 3;
		goto out;
	}
	int worst = CLI_OK;
	unsigned bad = 0;
	for (size_t i = 0; i < l.n; i++) {
		struct vn_node *e = &l.v[i];
		/* the data folder is the ledger's parent (DATA/ledger) */
		char *slash = strrchr(e->ledger, '/');
		if (!slash || strcmp(slash, "/ledger") || slash == e->ledger) {
			fprintf(stderr, "%s: node %s: its ledger path %s is not DATA/ledger\n",
				VERIFY_CMD, e->name, e->ledger);
			worst = CLI_ERR;
			bad++;
			continue;
		}
		*slash = '\0';
		char hp[4200] = "";
		if (e->head && head_file(e->head, hp, sizeof(hp))) {
			fprintf(stderr, "%s: node %s: cannot write its head to a temporary file\n",
				VERIFY_CMD, e->name);
			worst = CLI_ERR;
			bad++;
			continue;
		}
		printf("node %s (%s):\n", e->name, e->ledger);
		fflush(stdout);
		int nrc = run(ud, e->ledger, e->name, hp[0] ? hp : NULL);
		if (hp[0])
			unlink(hp);
		if (nrc != CLI_OK) {
			bad++;
			/* findings (1) over anything else: the worst says tampering */
			if (worst != CLI_ERR)
				worst = nrc;
		}
	}
	printf("%zu nodes checked, %u with findings or not checkable\n", l.n, bad);
	rc = worst;
out:
	for (size_t i = 0; i < l.n; i++) {
		free(l.v[i].name);
		free(l.v[i].ledger);
		free(l.v[i].head);
	}
	free(l.v);
	return rc < 0 ? CLI_ERR : rc;
}
