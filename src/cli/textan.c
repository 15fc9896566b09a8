/* textan.c - `earshot textan --words FILE.json`: the text analyses
 * (src/analytics/textan.h) over a transcript's words without a speech
 * engine, for trying keyword lists, patterns and the lexicon. */
#include "analytics/textan.h"
#include "cli/cli.h"
#include "core/config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: earshot textan --words FILE.json [-c CONFIG] [--lexicon PATH] [--json]\n"
		"  --words FILE     the words: [{\"text\",\"start_ms\",\"end_ms\",\"conf\",\"channel\"}...]\n"
		"                   or {\"words\": [...]}; channel 0 caller, 1 callee\n"
		"  -c, --config F   [keywords NAME], [sentiment] lexicon, [redact_speech]\n"
		"  --lexicon PATH   the sentiment lexicon (overrides [sentiment] lexicon)\n"
		"  --json           one JSON object instead of text\n"
		"Without a lexicon there is no sentiment; without a configuration, only\n"
		"card numbers are looked for.\n");
}


static void print_json(const struct ta_result *r)
{
	struct es_json j;
	es_json_init(&j, stdout, true);
	es_json_obj_begin(&j);
	es_json_key(&j, "hits");
	ta_hits_json(&j, r);
	es_json_key(&j, "missing");
	ta_missing_json(&j, r);
	es_json_key(&j, "sentiment");
	if (!r->have_sent) {
		es_json_null(&j);
	} else {
		es_json_obj_begin(&j);
		es_json_key(&j, "call"), es_json_double(&j, r->sent.call, 4);
		es_json_key(&j, "caller"), es_json_double(&j, r->sent.party[0], 4);
		es_json_key(&j, "callee"), es_json_double(&j, r->sent.party[1], 4);
		es_json_key(&j, "utterances");
		es_json_arr_begin(&j);
		for (size_t i = 0; i < r->sent.nutt; i++) {
			const struct ta_utt *u = &r->sent.utt[i];
			es_json_obj_begin(&j);
			es_json_key(&j, "party"), es_json_str(&j, ta_party_name(u->channel));
			es_json_key(&j, "start_ms"), es_json_int(&j, u->start_ms);
			es_json_key(&j, "end_ms"), es_json_int(&j, u->end_ms);
			es_json_key(&j, "compound"), es_json_double(&j, u->compound, 4);
			es_json_key(&j, "scored_words"), es_json_int(&j, u->scored);
			es_json_obj_end(&j);
		}
		es_json_arr_end(&j);
		es_json_obj_end(&j);
	}
	es_json_key(&j, "spans");
	es_json_arr_begin(&j);
	for (size_t i = 0; i < r->nspans; i++) {
		const struct ta_span *s = &r->spans[i];
		es_json_obj_begin(&j);
		es_json_key(&j, "kind"), es_json_str(&j, s->kind);
		es_json_key(&j, "party"), es_json_str(&j, ta_party_name(s->channel));
		es_json_key(&j, "start_ms"), es_json_int(&j, s->start_ms);
		es_json_key(&j, "end_ms"), es_json_int(&j, s->end_ms);
		es_json_key(&j, "digits"), es_json_int(&j, s->ndigits);
		es_json_obj_end(&j);
	}
	es_json_arr_end(&j);
	es_json_key(&j, "masked_words");
	es_json_arr_begin(&j);
	for (size_t i = 0; i < r->nmasked; i++)
		es_json_str(&j, r->masked[i].text);
	es_json_arr_end(&j);
	es_json_obj_end(&j);
	es_json_end(&j);
}

static void print_text(const struct ta_result *r)
{
	for (size_t i = 0; i < r->nhits; i++) {
		const struct ta_hit *h = &r->hits[i];
		printf("hit      %8.3f-%8.3f s  %-6s  %s/%s: \"%s\"\n", h->start_ms / 1e3,
		       h->end_ms / 1e3, ta_party_name(h->channel), h->category, h->list, h->phrase);
	}
	for (size_t i = 0; i < r->nmissing; i++)
		printf("missing  required phrase of %s/%s (party %s)\n", r->missing[i].category,
		       r->missing[i].list, ta_party_name(r->missing[i].party));
	if (r->have_sent) {
		printf("sentiment call %+.3f  caller %+.3f  callee %+.3f\n", r->sent.call,
		       r->sent.party[0], r->sent.party[1]);
		for (size_t i = 0; i < r->sent.nutt; i++) {
			const struct ta_utt *u = &r->sent.utt[i];
			printf("  utterance %8.3f-%8.3f s  %-6s  %+.3f\n", u->start_ms / 1e3,
			       u->end_ms / 1e3, ta_party_name(u->channel), u->compound);
		}
	}
	for (size_t i = 0; i < r->nspans; i++) {
		const struct ta_span *s = &r->spans[i];
		printf("span     %8.3f-%8.3f s  %-6s  %s (%u digits)\n", s->start_ms / 1e3,
		       s->end_ms / 1e3, ta_party_name(s->channel), s->kind, s->ndigits);
	}
	if (r->nspans) {
		printf("masked  ");
		for (size_t i = 0; i < r->nmasked; i++)
			printf(" %s", r->masked[i].text);
		printf("\n");
	}
}

int cli_textan(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"words", required_argument, NULL, 'w'}, {"config", required_argument, NULL, 'c'},
		{"lexicon", required_argument, NULL, 'l'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *words = NULL, *config = NULL, *lexicon = NULL;
	bool json = false;
	int o;
	(void)ctx;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'w': words = optarg; break;
		case 'c': config = optarg; break;
		case 'l': lexicon = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return CLI_OK;
		default: usage(stderr); return CLI_USAGE;
		}
	}
	if (!words || optind != argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	char err[512] = "";
	struct ta_config cfg;
	struct ta_lexicon lx;
	struct ta_result r;
	struct ta_word *w = NULL;
	size_t n = 0;
	struct es_buf b;
	bool have_lx = false;
	int ret = CLI_OK, rc;
	es_buf_init(&b);
	memset(&cfg, 0, sizeof(cfg));
	memset(&r, 0, sizeof(r));
	cfg.cards = true;
	if (config) {
		struct es_conf c;
		if ((rc = es_conf_load(&c, config, err, sizeof(err)))) {
			fprintf(stderr, "earshot: %s: %s\n", config, *err ? err : es_strerror(rc));
			ret = CLI_USAGE;
			goto out;
		}
		rc = ta_config_load(&cfg, &c, err, sizeof(err));
		es_conf_free(&c);
		if (rc) {
			fprintf(stderr, "earshot: %s\n", *err ? err : es_strerror(rc));
			ret = rc == ES_ENOMEM ? CLI_ERR : CLI_USAGE;
			goto out;
		}
	}
	if (!lexicon)
		lexicon = cfg.lexicon;
	if (lexicon) {
		if ((rc = ta_lexicon_load(&lx, lexicon, err, sizeof(err)))) {
			fprintf(stderr, "earshot: lexicon: %s\n", err);
			ret = rc == ES_EPARSE ? CLI_INPUT : CLI_ERR;
			goto out;
		}
		have_lx = true;
	}
	if ((rc = es_read_file(words, &b))) {
		fprintf(stderr, "earshot: %s: %s\n", words, es_strerror(rc));
		ret = rc == ES_ENOTFOUND ? CLI_NOTFOUND : CLI_ERR;
		goto out;
	}
	if ((rc = ta_words_parse((const char *)b.p, b.len, &w, &n, err, sizeof(err)))) {
		fprintf(stderr, "earshot: %s: %s\n", words, err);
		ret = rc == ES_ENOMEM ? CLI_ERR : CLI_INPUT;
		goto out;
	}
	if ((rc = ta_analyse(&cfg, have_lx ? &lx : NULL, w, n, &r))) {
		fprintf(stderr, "earshot: textan: %s\n", es_strerror(rc));
		ret = CLI_ERR;
		goto out;
	}
	if (json)
		print_json(&r);
	else
		print_text(&r);
out:
	ta_result_free(&r);
	ta_words_free(w, n);
	if (have_lx)
		ta_lexicon_free(&lx);
	ta_config_free(&cfg);
	es_buf_free(&b);
	return ret;
}
