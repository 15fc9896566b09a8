/*
 * user.c - `earshot user add|passwd|role|numbers|can-listen|disable|enable|
 * totp-reset|list|token|tokens|revoke`: the local users of the web UI and REST API
 * (api/api.h).  Every change is written to the audit log as user
 * "cli:<unix user>"; passwords are never printed, logged or audited.
 */
#include "api/api.h"
#include "cli/cli.h"

#include <getopt.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define CLI_TOKEN_DAYS_DEFAULT (int)(API_TOKEN_TTL_DEFAULT_US / (86400 * ES_US_PER_SEC))
#define CLI_TOKEN_DAYS_MAX 3650

static void user_usage(FILE *f)
{
	fprintf(f,
		"Usage: earshot user add NAME --role ROLE [--numbers LIST] [--can-listen]\n"
		"                        [--password-stdin]\n"
		"       earshot user passwd NAME [--password-stdin]\n"
		"       earshot user role NAME ROLE\n"
		"       earshot user numbers NAME LIST\n"
		"       earshot user can-listen NAME yes|no\n"
		"       earshot user disable NAME\n"
		"       earshot user enable NAME\n"
		"       earshot user totp-reset NAME\n"
		"       earshot user list [--json]\n"
		"       earshot user token NAME [--label TEXT] [--expires DAYS|never] [--json]\n"
		"       earshot user tokens NAME [--json]\n"
		"       earshot user revoke TOKEN_ID\n"
		"\n"
		"The local users of the web UI and REST API, their roles and API tokens.\n"
		"Every change is appended to the audit log (`earshot audit`) as user\n"
		"cli:<your unix user>.\n"
		"\n"
		"Roles:\n"
		"  admin       everything, including users and the audit log\n"
		"  supervisor  search, view, listen, export, tag, verify every call\n"
		"  agent       search, view, listen, tag the calls where one of their\n"
		"              numbers is a party; no export\n"
		"  auditor     read the audit log, verify, search and view every call;\n"
		"              listen and export only with --can-listen\n"
		"\n"
		"  NAME        letters, digits, '.', '_', '-', '@' (at most 64; any case\n"
		"              names the same user)\n"
		"  LIST        comma list of the user's numbers or extensions:\n"
		"              \"1001,+1 555 123-4567\"; '+' and separators are ignored\n"
		"              when calls are matched; \"\" for none\n"
		"\n"
		"Options:\n"
		"  --role ROLE         admin, supervisor, agent or auditor (add)\n"
		"  --numbers LIST      the user's numbers (add)\n"
		"  --can-listen        an auditor may listen and export (add)\n"
		"  --password-stdin    read the password as one line from stdin; without\n"
		"                      it the password is asked twice on the terminal, or\n"
		"                      read from stdin when that is not a terminal\n"
		"                      (at least %d characters)\n"
		"  --label TEXT        what a token is for (token; at most %d bytes)\n"
		"  --expires DAYS      the token stops working after DAYS days (1 to\n"
		"                      3650; default %d); \"never\" for no expiry (token)\n"
		"  --json              JSON output (list, token, tokens)\n"
		"  --data DIR          data folder (default $EARSHOT_DATA or ./earshot-data)\n"
		"  -h, --help          this help\n"
		"\n"
		"`token` prints a new API token once; only its hash is kept.  Tokens act\n"
		"as their user; `tokens` lists a user's (never the secret), `revoke` takes\n"
		"the id printed with it.  `passwd` and `disable` sign the user out\n"
		"everywhere: their sessions end and their tokens are revoked (`enable`\n"
		"brings none back).  `totp-reset` removes the user's second factor (a\n"
		"lost phone) and signs them out everywhere; they enrol again at their next\n"
		"sign-in.\n"
		"\n"
		"Exit codes: 0 ok, 1 error (also: the name is taken), 2 usage (also: a\n"
		"bad name, role, number list or too short a password), 4 no such user\n"
		"or token, or (totp-reset) no second factor.\n",
		API_PW_MIN, API_TOKEN_LABEL_MAX, CLI_TOKEN_DAYS_DEFAULT);
}

/* "cli:<unix user>" (cli.h) */
void cli_actor(char *buf, size_t cap)
{
	struct passwd *pw = getpwuid(geteuid());
	if (pw && pw->pw_name)
		snprintf(buf, cap, "cli:%s", pw->pw_name);
	else
		snprintf(buf, cap, "cli:uid%u", (unsigned)geteuid());
}

/* One line from f without its line end; false at EOF or when too long. */
static bool read_line(FILE *f, char *buf, size_t cap)
{
	if (!fgets(buf, (int)cap, f))
		return false;
	size_t n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (!feof(f))
		return false; /* longer than cap */
	if (n && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return true;
}

/* Ask on the terminal without echo. */
static bool ask_tty(FILE *tty, const char *prompt, char *buf, size_t cap)
{
	struct termios old, quiet;
	int fd = fileno(tty);
	bool restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	fputs(prompt, tty);
	fflush(tty);
	bool ok = read_line(tty, buf, cap);
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	fputc('\n', tty);
	return ok;
}

/* The new password into buf: CLI_OK, or CLI_USAGE / CLI_ERR said. */
static int get_password(const char *cmd, const char *name, bool from_stdin, char *buf,
			size_t cap)
{
	if (from_stdin || !isatty(STDIN_FILENO)) {
		if (!read_line(stdin, buf, cap)) {
			fprintf(stderr, "earshot user %s: no password on stdin (one line)\n", cmd);
			return CLI_USAGE;
		}
		return CLI_OK;
	}
	FILE *tty = fopen("/dev/tty", "r+");
	if (!tty) {
		fprintf(stderr, "earshot user %s: no terminal to ask the password on; use "
				"--password-stdin\n", cmd);
		return CLI_USAGE;
	}
	char again[API_PW_MAX + 2], prompt[128];
	snprintf(prompt, sizeof(prompt), "New password for %s: ", name);
	int rc = CLI_OK;
	if (!ask_tty(tty, prompt, buf, cap) || !ask_tty(tty, "Again: ", again, sizeof(again))) {
		fprintf(stderr, "earshot user %s: no password given\n", cmd);
		rc = CLI_USAGE;
	} else if (strcmp(buf, again) != 0) {
		fprintf(stderr, "earshot user %s: the passwords differ\n", cmd);
		rc = CLI_USAGE;
	}
	explicit_bzero(again, sizeof(again));
	fclose(tty);
	return rc;
}

/* An api error as an exit code, said on stderr. */
static int fail(const char *cmd, const char *what, int err)
{
	switch (err) {
	case ES_ENOTFOUND:
		fprintf(stderr, "earshot user %s: no such %s\n", cmd, what);
		return CLI_NOTFOUND;
	case ES_EEXIST:
		fprintf(stderr, "earshot user %s: %s exists already\n", cmd, what);
		return CLI_ERR;
	case ES_EINVAL:
		fprintf(stderr,
			"earshot user %s: invalid %s (see `earshot user --help`: names, roles, "
			"number lists; passwords of %d to %d characters)\n",
			cmd, what, API_PW_MIN, API_PW_MAX);
		return CLI_USAGE;
	default:
		fprintf(stderr, "earshot user %s: %s\n", cmd, es_strerror(err));
		return CLI_ERR;
	}
}

struct user_opts {
	const char *role;
	const char *numbers;
	const char *label;
	const char *expires; /* DAYS or "never"; NULL: the default */
	bool can_listen;
	bool pw_stdin;
	bool json;
};

static void user_json(struct es_json *j, const struct api_user *u)
{
	char t[ES_TIME_STRLEN];
	es_json_obj_begin(j);
	es_json_key(j, "id"); es_json_int(j, u->id);
	es_json_key(j, "name"); es_json_str(j, u->name);
	es_json_key(j, "role"); es_json_str(j, api_role_name(u->role));
	es_json_key(j, "numbers");
	es_json_arr_begin(j);
	struct slice rest = sl_cstr(u->numbers), one;
	while (rest.len) {
		sl_split(rest, ',', &one, &rest);
		es_json_strn(j, one.p, one.len);
	}
	es_json_arr_end(j);
	es_json_key(j, "can_listen"); es_json_bool(j, u->can_listen);
	es_json_key(j, "disabled"); es_json_bool(j, u->disabled);
	es_time_fmt(u->created_us, t, sizeof(t));
	es_json_key(j, "created"); es_json_str(j, t);
	es_time_fmt(u->updated_us, t, sizeof(t));
	es_json_key(j, "updated"); es_json_str(j, t);
	es_json_obj_end(j);
}

static int list_json(void *ud, const struct api_user *u)
{
	user_json(ud, u);
	return 0;
}

static int list_table(void *ud, const struct api_user *u)
{
	unsigned *n = ud;
	char t[ES_TIME_STRLEN];
	es_time_fmt(u->created_us, t, sizeof(t));
	if (!(*n)++)
		printf("%-20s  %-10s  %-6s  %-8s  %-24s  %s\n", "NAME", "ROLE", "LISTEN", "STATE",
		       "CREATED", "NUMBERS");
	printf("%-20s  %-10s  %-6s  %-8s  %-24s  %s\n", u->name, api_role_name(u->role),
	       u->role == API_ROLE_AUDITOR ? (u->can_listen ? "yes" : "no") : "-",
	       u->disabled ? "disabled" : "active", t, u->numbers[0] ? u->numbers : "-");
	return 0;
}

static int do_list(struct idx *ix, const struct user_opts *o)
{
	int err;
	if (o->json) {
		struct es_json j;
		es_json_init(&j, stdout, true);
		es_json_arr_begin(&j);
		err = api_users_list(ix, list_json, &j);
		es_json_arr_end(&j);
		es_json_end(&j);
	} else {
		unsigned n = 0;
		err = api_users_list(ix, list_table, &n);
		if (!err && !n)
			printf("no users (add one with `earshot user add NAME --role admin`)\n");
	}
	return err ? fail("list", "user", err) : CLI_OK;
}

/* --expires: DAYS (1..CLI_TOKEN_DAYS_MAX) or "never" as the expiry time
 * (0 = never); false when it is neither. */
static bool token_expiry(const char *v, int64_t now, int64_t *out)
{
	uint64_t days = CLI_TOKEN_DAYS_DEFAULT;
	*out = 0;
	if (v && !strcmp(v, "never"))
		return true;
	if (v && (sl_to_u64(sl_cstr(v), &days) || !days || days > CLI_TOKEN_DAYS_MAX))
		return false;
	*out = now + (int64_t)days * 86400 * ES_US_PER_SEC;
	return true;
}

static int do_token(struct idx *ix, const struct api_actor *who, const char *name,
		    const struct user_opts *o)
{
	char token[API_TOKEN_STRLEN], exp[ES_TIME_STRLEN] = "never";
	int64_t id, now = cli_wall_us(), expires;
	if (!token_expiry(o->expires, now, &expires)) {
		fprintf(stderr, "earshot user token: --expires: days from 1 to %d or \"never\", "
				"not '%s'\n", CLI_TOKEN_DAYS_MAX, o->expires);
		return CLI_USAGE;
	}
	if (!api_token_label_valid(o->label)) {
		fprintf(stderr, "earshot user token: --label: at most %d bytes, no control "
				"characters\n", API_TOKEN_LABEL_MAX);
		return CLI_USAGE;
	}
	int err = api_token_create(ix, who, name, o->label, expires, now, token, &id);
	if (err)
		return fail("token", "user", err);
	if (expires)
		es_time_fmt(expires, exp, sizeof(exp));
	if (o->json) {
		struct es_json j;
		es_json_init(&j, stdout, true);
		es_json_obj_begin(&j);
		es_json_key(&j, "id"); es_json_int(&j, id);
		es_json_key(&j, "user"); es_json_str(&j, name);
		es_json_key(&j, "label"); es_json_str(&j, o->label);
		es_json_key(&j, "expires"); es_json_str(&j, expires ? exp : NULL);
		es_json_key(&j, "token"); es_json_str(&j, token);
		es_json_obj_end(&j);
		es_json_end(&j);
	} else {
		printf("%s\n", token);
		fprintf(stderr,
			"earshot user token: token %lld for %s, expires %s; it is shown only "
			"this once (revoke with `earshot user revoke %lld`)\n",
			(long long)id, name, exp, (long long)id);
	}
	explicit_bzero(token, sizeof(token));
	return CLI_OK;
}

/* A time or null ("never", "not yet") in JSON; "-" in the table. */
static void time_json(struct es_json *j, const char *key, int64_t us)
{
	char t[ES_TIME_STRLEN];
	es_json_key(j, key);
	if (us > 0) {
		es_time_fmt(us, t, sizeof(t));
		es_json_str(j, t);
	} else {
		es_json_null(j);
	}
}

static const char *time_cell(int64_t us, char *buf, size_t cap)
{
	if (us <= 0)
		return "-";
	es_time_fmt(us, buf, cap);
	return buf;
}

/* "active", "expired" or "revoked" at now. */
static const char *token_state(const struct api_token *t, int64_t now)
{
	return t->revoked ? "revoked" : t->expires_us && now >= t->expires_us ? "expired" : "active";
}

struct tokens_ctx {
	struct es_json *j; /* NULL: a table */
	int64_t now;
	unsigned n;
};

static int token_row(void *ud, const struct api_token *t)
{
	struct tokens_ctx *c = ud;
	if (c->j) {
		struct es_json *j = c->j;
		es_json_obj_begin(j);
		es_json_key(j, "id"); es_json_int(j, t->id);
		es_json_key(j, "label"); es_json_str(j, t->label);
		es_json_key(j, "state"); es_json_str(j, token_state(t, c->now));
		time_json(j, "created", t->created_us);
		time_json(j, "last_used", t->last_used_us);
		time_json(j, "expires", t->expires_us);
		time_json(j, "revoked", t->revoked_us);
		es_json_key(j, "revoked_why");
		es_json_str(j, t->revoked_why[0] ? t->revoked_why : NULL);
		es_json_obj_end(j);
		return 0;
	}
	char a[ES_TIME_STRLEN], b[ES_TIME_STRLEN], e[ES_TIME_STRLEN];
	if (!c->n++)
		printf("%-6s  %-8s  %-24s  %-24s  %-24s  %s\n", "ID", "STATE", "CREATED",
		       "LAST USED", "EXPIRES", "LABEL");
	printf("%-6lld  %-8s  %-24s  %-24s  %-24s  %s\n", (long long)t->id,
	       token_state(t, c->now), time_cell(t->created_us, a, sizeof(a)),
	       time_cell(t->last_used_us, b, sizeof(b)), time_cell(t->expires_us, e, sizeof(e)),
	       t->label[0] ? t->label : "-");
	return 0;
}

static int do_tokens(struct idx *ix, const char *name, const struct user_opts *o)
{
	struct api_user u;
	int err = api_user_get(ix, name, &u);
	if (err)
		return fail("tokens", "user", err);
	struct es_json j;
	struct tokens_ctx c = {o->json ? &j : NULL, cli_wall_us(), 0};
	if (o->json) {
		es_json_init(&j, stdout, true);
		es_json_arr_begin(&j);
	}
	err = api_tokens_list(ix, u.id, token_row, &c);
	if (o->json) {
		es_json_arr_end(&j);
		es_json_end(&j);
	} else if (!err && !c.n) {
		printf("no tokens for %s\n", u.name);
	}
	return err ? fail("tokens", "token", err) : CLI_OK;
}

static int want_args(const char *cmd, int have, int want)
{
	if (have == want)
		return CLI_OK;
	fprintf(stderr, "earshot user %s: %s arguments (see `earshot user --help`)\n", cmd,
		have < want ? "missing" : "too many");
	return CLI_USAGE;
}

/* The subcommand with its positional arguments args[0..nargs). */
static int run_sub(struct idx *ix, const char *cmd, char **args, int nargs,
		   const struct user_opts *o)
{
	char actor[96];
	cli_actor(actor, sizeof(actor));
	struct api_actor who = {actor, ""};
	int64_t now = cli_wall_us();
	int rc, err;
	if (!strcmp(cmd, "list"))
		return (rc = want_args(cmd, nargs, 0)) ? rc : do_list(ix, o);
	if (!strcmp(cmd, "revoke")) {
		uint64_t id;
		if ((rc = want_args(cmd, nargs, 1)))
			return rc;
		if (sl_to_u64(sl_cstr(args[0]), &id) || id > INT64_MAX) {
			fprintf(stderr, "earshot user revoke: not a token id: '%s'\n", args[0]);
			return CLI_USAGE;
		}
		if ((err = api_token_revoke(ix, &who, (int64_t)id, 0, now)))
			return fail(cmd, "token", err);
		printf("token %llu revoked\n", (unsigned long long)id);
		return CLI_OK;
	}
	bool two = !strcmp(cmd, "role") || !strcmp(cmd, "numbers") || !strcmp(cmd, "can-listen");
	if ((rc = want_args(cmd, nargs, two ? 2 : 1)))
		return rc;
	const char *name = args[0];
	if (!strcmp(cmd, "token"))
		return do_token(ix, &who, name, o);
	if (!strcmp(cmd, "tokens"))
		return do_tokens(ix, name, o);
	if (!strcmp(cmd, "add") || !strcmp(cmd, "passwd")) {
		enum api_role role = API_ROLE_AGENT;
		bool add = !strcmp(cmd, "add");
		if (add && (!o->role || api_role_parse(o->role, &role))) {
			fprintf(stderr, "earshot user add: --role admin|supervisor|agent|auditor "
					"is needed\n");
			return CLI_USAGE;
		}
		if (!api_name_valid(name))
			return fail(cmd, "user name", ES_EINVAL);
		struct api_user u;
		if (!add && (err = api_user_get(ix, name, &u))) {
			/* before asking for a password; audited as the api would */
			if (err == ES_ENOTFOUND)
				api_audit_append(ix, now, actor, "user.passwd", name, "",
						 API_AUDIT_FAILED, es_strerror(err), NULL);
			return fail(cmd, "user", err);
		}
		if (add && !api_user_get(ix, name, &u))
			return fail(cmd, "user", ES_EEXIST);
		char pw[API_PW_MAX + 2];
		if ((rc = get_password(cmd, name, o->pw_stdin, pw, sizeof(pw))))
			return rc;
		if (strlen(pw) < API_PW_MIN || strlen(pw) > API_PW_MAX) {
			explicit_bzero(pw, sizeof(pw));
			fprintf(stderr, "earshot user %s: the password needs %d to %d characters\n",
				cmd, API_PW_MIN, API_PW_MAX);
			return CLI_USAGE;
		}
		err = add ? api_user_add(ix, &who, name, role, o->numbers, o->can_listen, pw, now,
					 &u)
			  : api_user_passwd(ix, &who, name, pw, now);
		explicit_bzero(pw, sizeof(pw));
		if (err)
			return fail(cmd, err == ES_EINVAL ? "number list" : "user", err);
		printf(add ? "user %s added\n" : "password of %s changed\n", name);
		return CLI_OK;
	}
	if (!strcmp(cmd, "role")) {
		enum api_role role;
		if (api_role_parse(args[1], &role)) {
			fprintf(stderr, "earshot user role: unknown role '%s' (admin, supervisor, "
					"agent, auditor)\n", args[1]);
			return CLI_USAGE;
		}
		err = api_user_set_role(ix, &who, name, role, now);
	} else if (!strcmp(cmd, "numbers")) {
		err = api_user_set_numbers(ix, &who, name, args[1], now);
		if (err == ES_EINVAL)
			return fail(cmd, "number list", err);
	} else if (!strcmp(cmd, "can-listen")) {
		bool yes = !strcmp(args[1], "yes");
		if (!yes && strcmp(args[1], "no")) {
			fprintf(stderr, "earshot user can-listen: yes or no, not '%s'\n", args[1]);
			return CLI_USAGE;
		}
		err = api_user_set_can_listen(ix, &who, name, yes, now);
	} else if (!strcmp(cmd, "disable") || !strcmp(cmd, "enable")) {
		err = api_user_set_disabled(ix, &who, name, !strcmp(cmd, "disable"), now);
	} else if (!strcmp(cmd, "totp-reset")) {
		err = api_totp_remove(ix, &who, name, true, now);
		if (err == ES_ENOTFOUND)
			return fail(cmd, "user or second factor", err);
	} else {
		fprintf(stderr, "earshot user: unknown subcommand '%s'\n", cmd);
		user_usage(stderr);
		return CLI_USAGE;
	}
	if (err)
		return fail(cmd, "user", err);
	printf("user %s: %s done\n", name, cmd);
	return CLI_OK;
}

int cli_user(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"role", required_argument, NULL, 'r'},
		{"numbers", required_argument, NULL, 'n'},
		{"can-listen", no_argument, NULL, 'L'},
		{"password-stdin", no_argument, NULL, 'P'},
		{"label", required_argument, NULL, 'l'},
		{"expires", required_argument, NULL, 'e'},
		{"json", no_argument, NULL, 'J'},
		{"data", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct user_opts o = {0};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': o.role = optarg; break;
		case 'n': o.numbers = optarg; break;
		case 'L': o.can_listen = true; break;
		case 'P': o.pw_stdin = true; break;
		case 'l': o.label = optarg; break;
		case 'e': o.expires = optarg; break;
		case 'J': o.json = true; break;
		case 'd': ctx->data_dir = optarg; break;
		case 'h': user_usage(stdout); return CLI_OK;
		default: user_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		user_usage(stderr);
		return CLI_USAGE;
	}
	const char *cmd = argv[optind];
	static const char *const known[] = {"add",     "passwd", "role", "numbers",
					    "can-listen", "disable", "enable", "list",
					    "token",   "tokens", "revoke", "totp-reset", NULL};
	bool ok = false;
	for (const char *const *k = known; *k; k++)
		ok |= !strcmp(*k, cmd);
	if (!ok) {
		fprintf(stderr, "earshot user: unknown subcommand '%s'\n", cmd);
		user_usage(stderr);
		return CLI_USAGE;
	}
	bool list = !strcmp(cmd, "list") || !strcmp(cmd, "tokens");
	if ((o.label || o.expires) && strcmp(cmd, "token")) {
		fprintf(stderr, "earshot user %s: --label and --expires are for token\n", cmd);
		return CLI_USAGE;
	}
	if ((o.role || o.can_listen || o.numbers) && strcmp(cmd, "add")) {
		fprintf(stderr, "earshot user %s: --role, --numbers and --can-listen are for add "
				"(use `user role`, `user numbers`, `user can-listen`)\n", cmd);
		return CLI_USAGE;
	}
	struct idx *ix;
	/* Listing needs an index; the first `user add` may create one. */
	if (cli_open_index(ctx, !list, &ix))
		return CLI_ERR;
	int rc = run_sub(ix, cmd, argv + optind + 1, argc - optind - 1, &o);
	idx_close(ix);
	return rc;
}
