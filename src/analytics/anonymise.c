/*
 * anonymise.c - the McAdams-coefficient voice anonymisation (anonymise.h):
 * frame-wise LPC, pole angles raised to alpha, resynthesis from the
 * residual, overlap-add.  The method is Patino et al., Interspeech 2021;
 * the code is written from the paper's description.
 */
#include "analytics/anonymise.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct an_anon {
	unsigned n, hop, order;
	double alpha;
	double *win;    /* sqrt-Hann, periodic: win^2 at 50 % overlap sums to 1 */
	double *in;     /* the last n input samples */
	double *acc;    /* overlap-add accumulator, n samples */
	double *x, *e, *y, *a, *a2, *re, *im; /* per-frame scratch */
	size_t filled;  /* new input samples since the last frame (< hop) */
	bool primed;    /* the first hop of output (the OLA delay) is dropped */
};

/* ---- linear prediction ------------------------------------------------------ */

double an_lpc(const double *x, size_t n, unsigned order, double *a)
{
	double r[AN_ORDER_MAX + 1];
	for (unsigned k = 0; k <= order; k++) {
		double s = 0;
		for (size_t i = k; i < n; i++)
			s += x[i] * x[i - k];
		r[k] = s;
	}
	memset(a, 0, (order + 1) * sizeof(*a));
	a[0] = 1;
	if (r[0] <= (double)n) /* under one LSB rms: nothing to model */
		return 0;
	r[0] *= 1.0 + 1e-6; /* a little white noise keeps the recursion well conditioned */
	double err = r[0];
	double tmp[AN_ORDER_MAX + 1];
	for (unsigned i = 1; i <= order; i++) {
		double acc = r[i];
		for (unsigned j = 1; j < i; j++)
			acc += a[j] * r[i - j];
		double k = -acc / err;
		memcpy(tmp, a, (i + 1) * sizeof(*a));
		for (unsigned j = 1; j < i; j++)
			a[j] = tmp[j] + k * tmp[i - j];
		a[i] = k;
		err *= 1 - k * k;
		if (err <= 0)
			break;
	}
	return err;
}

/* ---- roots (Aberth-Ehrlich iteration) --------------------------------------- */

static double complex horner(const double *a, unsigned order, double complex z,
			     double complex *deriv)
{
	double complex p = 1, d = 0;
	for (unsigned k = 1; k <= order; k++) {
		d = d * z + p;
		p = p * z + a[k];
	}
	*deriv = d;
	return p;
}

int an_poly_roots(const double *a, unsigned order, double *re, double *im)
{
	double complex z[AN_ORDER_MAX];
	for (unsigned k = 0; k < order; k++)
		z[k] = 0.9 * cexp(I * (2 * M_PI * k / order + 0.4));
	for (int iter = 0; iter < 500; iter++) {
		double moved = 0;
		for (unsigned k = 0; k < order; k++) {
			double complex d, p = horner(a, order, z[k], &d);
			if (cabs(p) == 0)
				continue;
			double complex ratio = d != 0 ? p / d : 1e-3;
			double complex s = 0;
			for (unsigned j = 0; j < order; j++)
				if (j != k && z[j] != z[k])
					s += 1 / (z[k] - z[j]);
			double complex w = ratio / (1 - ratio * s);
			z[k] -= w;
			if (cabs(w) > moved)
				moved = cabs(w);
		}
		if (moved < 1e-12) {
			for (unsigned k = 0; k < order; k++) {
				re[k] = creal(z[k]);
				im[k] = cimag(z[k]);
			}
			return 0;
		}
	}
	return ES_EAGAIN;
}

/* ---- the McAdams transform --------------------------------------------------- */

void an_mcadams(double *re, double *im, unsigned order, double alpha, double *a)
{
	double complex c[AN_ORDER_MAX + 1] = {1};
	for (unsigned k = 0; k < order; k++) {
		double complex z = re[k] + I * im[k];
		double r = cabs(z), phi = carg(z);
		/* Only complex poles move (a real pole has no conjugate to mirror
		 * it); the published method raises the angle in radians. */
		if (fabs(im[k]) > 1e-9) {
			double np = pow(fabs(phi), alpha);
			if (np > M_PI - 1e-6)
				np = M_PI - 1e-6;
			phi = phi < 0 ? -np : np;
		}
		if (r > 0.999) /* keep the all-pole filter stable whatever rounding did */
			r = 0.999;
		z = r * cexp(I * phi);
		re[k] = creal(z);
		im[k] = cimag(z);
		for (unsigned j = k + 1; j >= 1; j--)
			c[j] -= z * c[j - 1];
	}
	for (unsigned j = 0; j <= order; j++)
		a[j] = creal(c[j]);
}

/* ---- streaming ----------------------------------------------------------------- */

int an_anon_new(struct an_anon **out, uint32_t rate, double alpha, unsigned order)
{
	*out = NULL;
	if (rate < 8000 || rate > 48000 || !(alpha >= AN_ALPHA_MIN && alpha <= AN_ALPHA_MAX))
		return ES_EINVAL;
	if (!order)
		order = rate / 1000 + 4;
	if (order < 2 || order > AN_ORDER_MAX)
		return ES_EINVAL;
	struct an_anon *a = calloc(1, sizeof(*a));
	if (!a)
		return ES_ENOMEM;
	a->hop = rate / 100; /* 10 ms */
	a->n = 2 * a->hop;   /* 20 ms frames */
	a->order = order;
	a->alpha = alpha;
	double **bufs[] = {&a->win, &a->in, &a->acc, &a->x, &a->e, &a->y};
	for (size_t i = 0; i < ES_ARRAY_LEN(bufs); i++)
		if (!(*bufs[i] = calloc(a->n, sizeof(double))))
			goto fail;
	if (!(a->a = calloc(order + 1, sizeof(double))) ||
	    !(a->a2 = calloc(order + 1, sizeof(double))) || !(a->re = calloc(order, sizeof(double))) ||
	    !(a->im = calloc(order, sizeof(double))))
		goto fail;
	for (unsigned i = 0; i < a->n; i++)
		a->win[i] = sin(M_PI * i / a->n); /* sqrt of the periodic Hann window */
	*out = a;
	return 0;
fail:
	an_anon_free(a);
	return ES_ENOMEM;
}

void an_anon_free(struct an_anon *a)
{
	if (!a)
		return;
	free(a->win);
	free(a->in);
	free(a->acc);
	free(a->x);
	free(a->e);
	free(a->y);
	free(a->a);
	free(a->a2);
	free(a->re);
	free(a->im);
	free(a);
}

size_t an_anon_hop(const struct an_anon *a)
{
	return a->hop;
}

/* One frame of a->in: analysis, pole warp, resynthesis, into a->acc. */
static void frame(struct an_anon *a)
{
	unsigned n = a->n, p = a->order;
	for (unsigned i = 0; i < n; i++)
		a->x[i] = a->in[i] * a->win[i];
	bool warp = an_lpc(a->x, n, p, a->a) > 0 && an_poly_roots(a->a, p, a->re, a->im) == 0;
	if (warp) {
		an_mcadams(a->re, a->im, p, a->alpha, a->a2);
		/* residual e = A(z) x, then y = e / A'(z), both from rest */
		for (unsigned i = 0; i < n; i++) {
			double s = a->x[i];
			for (unsigned k = 1; k <= p && k <= i; k++)
				s += a->a[k] * a->x[i - k];
			a->e[i] = s;
		}
		for (unsigned i = 0; i < n; i++) {
			double s = a->e[i];
			for (unsigned k = 1; k <= p && k <= i; k++)
				s -= a->a2[k] * a->y[i - k];
			a->y[i] = s;
		}
	} else {
		memcpy(a->y, a->x, n * sizeof(double)); /* silence, or no roots: as is */
	}
	for (unsigned i = 0; i < n; i++)
		a->acc[i] += a->y[i] * a->win[i];
}

static int16_t clip16(double v)
{
	if (v > 32767)
		return 32767;
	if (v < -32768)
		return -32768;
	return (int16_t)lrint(v);
}

/* A hop of new input is in; run a frame and hand out the finished hop. */
static size_t step(struct an_anon *a, int16_t *out, size_t stride)
{
	frame(a);
	size_t w = 0;
	if (a->primed)
		for (unsigned i = 0; i < a->hop; i++)
			out[(w++) * stride] = clip16(a->acc[i]);
	a->primed = true;
	memmove(a->acc, a->acc + a->hop, (a->n - a->hop) * sizeof(double));
	memset(a->acc + a->n - a->hop, 0, a->hop * sizeof(double));
	memmove(a->in, a->in + a->hop, (a->n - a->hop) * sizeof(double));
	a->filled = 0;
	return w;
}

size_t an_anon_push(struct an_anon *a, const int16_t *in, size_t n, size_t stride, int16_t *out)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		a->in[a->n - a->hop + a->filled++] = in[i * stride];
		if (a->filled == a->hop)
			w += step(a, out + w * stride, stride);
	}
	return w;
}

size_t an_anon_flush(struct an_anon *a, int16_t *out, size_t stride)
{
	/* Zeros after the end complete the last frames; exactly as many
	 * samples come out as went in. */
	size_t pending = a->filled, w = 0;
	int16_t tmp[2 * 4800];
	size_t want = pending + (a->primed ? a->hop : 0);
	size_t zeros = a->hop - a->filled + a->hop;
	for (size_t i = 0; i < zeros && w < want; i++) {
		a->in[a->n - a->hop + a->filled++] = 0;
		if (a->filled == a->hop)
			w += step(a, tmp + w, 1);
	}
	if (w > want)
		w = want;
	for (size_t i = 0; i < w; i++)
		out[i * stride] = tmp[i];
	return w;
}
