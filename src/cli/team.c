/*
 * team.c - `earshot team add|del|members|list|scope`: teams of agents and
 * supervisors, and a supervisor's scope (api/teams.h).  Every change is
 * audited as user "cli:<unix user>".
 */
#include "api/teams.h"
#include "cli/cli.h"

#include <getopt.h>
#include <string.h>

static void team_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot team add TEAM\n"
		"       earshot team del TEAM\n"
		"       earshot team members TEAM [--add USER | --remove USER] [--supervisor]\n"
		"                                 [--json]\n"
		"       earshot team list [--json]\n"
		"       earshot team scope USER all|teams|default\n"
		"\n"
		"Teams of agents and their supervisors.  A team's calls are those where\n"
		"one of its agents' numbers is a party (matched as an agent's own calls\n"
		"are).  A supervisor whose scope is \"teams\" searches, views, plays,\n"
		"exports, tags and verifies only the calls of the teams they supervise;\n"
		"\"default\" follows [api] supervisor_scope (all unless set).\n"
		"\n"
		"  members TEAM          list the members; --add or --remove one: an\n"
		"                        agent (the default), or with --supervisor a\n"
		"                        supervisor of the team (the user must have that\n"
		"                        role)\n"
		"  --json                JSON output (members, list)\n"
		"  --data DIR            data folder (default $EARSHOT_DATA or ./earshot-data)\n"
		"  -h, --help            this help\n"
		"\n"
		"Every change is appended to the audit log (team.add, team.delete,\n"
		"team.member.add, team.member.remove, user.scope).\n"
		"\n"
		"Exit codes: 0 ok, 1 error (also: the team or membership exists), 2 usage\n"
		"(also: a bad name or a user of the wrong role), 4 no such team, user or\n"
		"membership.\n");
}

struct team_opts {
	const char *add, *remove;
	bool supervisor, json;
};

static int fail(const char *cmd, const char *what, int err)
{
	switch (err) {
	case ES_ENOTFOUND:
		fprintf(stderr, "earshot team %s: no such %s\n", cmd, what);
		return CLI_NOTFOUND;
	case ES_EEXIST:
		fprintf(stderr, "earshot team %s: %s exists already\n", cmd, what);
		return CLI_ERR;
	case ES_ELIMIT:
		fprintf(stderr, "earshot team %s: at most %d teams\n", cmd, IDX_TEAMS_MAX);
		return CLI_ERR;
	case ES_EINVAL:
		fprintf(stderr,
			"earshot team %s: invalid %s (names: letters, digits, '.', '_', '-', '@'; "
			"an agent member has the agent role, a supervisor the supervisor role)\n",
			cmd, what);
		return CLI_USAGE;
	default:
		fprintf(stderr, "earshot team %s: %s\n", cmd, es_strerror(err));
		return CLI_ERR;
	}
}

static int team_row(void *ud, const struct idx_team *t)
{
	struct es_json *j = ud;
	if (!j) {
		printf("%-24s %4lld agents %3lld supervisors\n", t->name, (long long)t->agents,
		       (long long)t->supervisors);
		return 0;
	}
	es_json_obj_begin(j);
	es_json_key(j, "name"); es_json_str(j, t->name);
	es_json_key(j, "agents"); es_json_int(j, t->agents);
	es_json_key(j, "supervisors"); es_json_int(j, t->supervisors);
	es_json_obj_end(j);
	return 0;
}

static int member_row(void *ud, const struct idx_team_member *m)
{
	struct es_json *j = ud;
	if (!j) {
		printf("%-10s %-24s %s\n", m->kind, m->user, m->numbers);
		return 0;
	}
	es_json_obj_begin(j);
	es_json_key(j, "team"); es_json_str(j, m->team);
	es_json_key(j, "user"); es_json_str(j, m->user);
	es_json_key(j, "kind"); es_json_str(j, m->kind);
	es_json_key(j, "numbers"); es_json_str(j, m->numbers);
	es_json_obj_end(j);
	return 0;
}

/* list (team NULL) or members of team, as text or a JSON array. */
static int do_list(struct idx *ix, const char *team, bool json)
{
	struct es_json j;
	if (json) {
		es_json_init(&j, stdout, true);
		es_json_arr_begin(&j);
	}
	int err = team ? idx_team_members(ix, team, member_row, json ? &j : NULL)
		       : idx_teams_list(ix, team_row, json ? &j : NULL);
	if (json) {
		es_json_arr_end(&j);
		es_json_end(&j);
	}
	return err ? fail(team ? "members" : "list", "team", err) : CLI_OK;
}

static int run_sub(struct idx *ix, const char *cmd, char **args, int nargs,
		   const struct team_opts *o)
{
	char name[96];
	cli_actor(name, sizeof(name));
	struct api_actor who = {name, ""};
	int64_t now = cli_wall_us();
	int want = !strcmp(cmd, "list") ? 0 : !strcmp(cmd, "scope") ? 2 : 1;
	if (nargs != want) {
		fprintf(stderr, "earshot team %s: %s arguments (see `earshot team --help`)\n", cmd,
			nargs < want ? "missing" : "too many");
		return CLI_USAGE;
	}
	if ((o->add || o->remove || o->supervisor) && strcmp(cmd, "members")) {
		fprintf(stderr, "earshot team %s: --add, --remove and --supervisor are for members\n",
			cmd);
		return CLI_USAGE;
	}
	int err;
	if (!strcmp(cmd, "list"))
		return do_list(ix, NULL, o->json);
	if (!strcmp(cmd, "add") || !strcmp(cmd, "del")) {
		bool add = !strcmp(cmd, "add");
		err = add ? api_team_add(ix, &who, args[0], now)
			  : api_team_delete(ix, &who, args[0], now);
		if (err)
			return fail(cmd, err == ES_EINVAL ? "team name" : "team", err);
		printf("team %s %s\n", args[0], add ? "added" : "deleted");
		return CLI_OK;
	}
	if (!strcmp(cmd, "scope")) {
		enum api_scope s;
		if (api_scope_parse(args[1], &s)) {
			fprintf(stderr, "earshot team scope: all, teams or default, not '%s'\n",
				args[1]);
			return CLI_USAGE;
		}
		if ((err = api_user_scope_set(ix, &who, args[0], s, now)))
			return fail(cmd, "user", err);
		printf("scope of %s: %s\n", args[0], api_scope_name(s));
		return CLI_OK;
	}
	/* members */
	if (o->add && o->remove) {
		fprintf(stderr, "earshot team members: --add or --remove, not both\n");
		return CLI_USAGE;
	}
	if (!o->add && !o->remove)
		return do_list(ix, args[0], o->json);
	const char *kind = o->supervisor ? "supervisor" : "agent";
	const char *user = o->add ? o->add : o->remove;
	if ((err = api_team_member(ix, &who, args[0], user, kind, o->add != NULL, now)))
		return fail(cmd, err == ES_EEXIST || (err == ES_ENOTFOUND && o->remove)
				     ? "membership"
				 : err == ES_EINVAL ? "name or role"
						    : "team or user",
			    err);
	printf("team %s: %s %s %s\n", args[0], kind, user, o->add ? "added" : "removed");
	return CLI_OK;
}

int cli_team(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"add", required_argument, NULL, 'a'},
		{"remove", required_argument, NULL, 'r'},
		{"supervisor", no_argument, NULL, 'S'},
		{"json", no_argument, NULL, 'J'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct team_opts o = {0};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': o.add = optarg; break;
		case 'r': o.remove = optarg; break;
		case 'S': o.supervisor = true; break;
		case 'J': o.json = true; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h': team_usage(stdout); return CLI_OK;
		default: team_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		team_usage(stderr);
		return CLI_USAGE;
	}
	const char *cmd = argv[optind];
	static const char *const known[] = {"add", "del", "members", "list", "scope", NULL};
	bool ok = false;
	for (const char *const *k = known; *k; k++)
		ok |= !strcmp(*k, cmd);
	if (!ok) {
		fprintf(stderr, "earshot team: unknown subcommand '%s'\n", cmd);
		team_usage(stderr);
		return CLI_USAGE;
	}
	struct idx *ix;
	if (cli_open_index(ctx, false, &ix))
		return CLI_ERR;
	int rc = run_sub(ix, cmd, argv + optind + 1, argc - optind - 1, &o);
	idx_close(ix);
	return rc;
}
