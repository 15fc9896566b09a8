/*
 * anonymise.h - voice anonymisation by the McAdams coefficient (Patino,
 * Tomashenko, Todisco, Nautsch, Evans: "Speaker anonymisation using the
 * McAdams coefficient", Interspeech 2021; a baseline of the VoicePrivacy
 * 2022 challenge).  docs/ANONYMISATION.md describes the method, its
 * parameters and what it was measured to do.
 *
 * Per channel, frames of 20 ms with 50 % overlap (a square-root Hann window
 * for analysis and again for synthesis, whose product sums to one): linear
 * prediction (autocorrelation method, Levinson-Durbin), the residual
 * through the inverse filter A(z), the roots of A(z), each complex pole's
 * angle phi moved to phi^alpha (its radius kept, its conjugate mirrored),
 * and the residual through the new all-pole filter 1/A'(z), added back
 * with overlap-add.  The excitation (pitch, timing, loudness contour) is
 * kept and the spectral envelope (formants) is warped, so the words stay
 * and the speaker's timbre goes.
 *
 * Streaming and bounded: a state holds two frames per channel, so a call
 * of any length goes through in constant memory.  Output equals input in
 * length and timing (the one-hop delay of the overlap-add is removed).
 * Depends on core only: the caller reads and writes the audio.
 */
#ifndef ES_ANALYTICS_ANONYMISE_H
#define ES_ANALYTICS_ANONYMISE_H

#include "core/core.h"

#define AN_ALPHA_DEFAULT 0.8
#define AN_ALPHA_MIN 0.5 /* below: formants collapse towards 1 rad, words suffer */
#define AN_ALPHA_MAX 1.5
#define AN_ORDER_MAX 32

struct an_anon;

/* A state for one channel of audio at rate Hz (8000..48000), McAdams
 * coefficient alpha (AN_ALPHA_MIN..AN_ALPHA_MAX; 1 changes nothing but the
 * analysis/resynthesis round trip) and LPC order (0: rate / 1000 + 4,
 * i.e. 12 at 8 kHz, 20 at 16 kHz; at most AN_ORDER_MAX).  ES_EINVAL for a
 * value out of range, ES_ENOMEM. */
int an_anon_new(struct an_anon **out, uint32_t rate, double alpha, unsigned order);
void an_anon_free(struct an_anon *a);

/* Feed n samples taken every `stride` int16 values from in (stride 2 and
 * in + 1: the right channel of interleaved stereo); transformed samples
 * are written the same way to out, which must have room for n + the
 * state's hop (an_anon_hop) samples.  Returns how many were written
 * (the stream's first hop is held back, then everything). */
size_t an_anon_push(struct an_anon *a, const int16_t *in, size_t n, size_t stride, int16_t *out);
/* At the end: the samples still held (at most an_anon_hop). */
size_t an_anon_flush(struct an_anon *a, int16_t *out, size_t stride);
size_t an_anon_hop(const struct an_anon *a);

/* ---- the parts, exposed for tests ---------------------------------------- */

/* LPC coefficients a[0..order] (a[0] = 1) of x[0..n) by the autocorrelation
 * method (Levinson-Durbin); returns the prediction error power, 0 for a
 * silent frame (then a = 1, 0, ...). */
double an_lpc(const double *x, size_t n, unsigned order, double *a);
/* The roots of z^order + a[1] z^(order-1) + ... + a[order] (Aberth's
 * iteration) into re[], im[].  ES_EAGAIN when it did not converge. */
int an_poly_roots(const double *a, unsigned order, double *re, double *im);
/* Move every complex root's angle phi to sign(phi) |phi|^alpha and
 * rebuild the real polynomial a[0..order] (a[0] = 1) from the roots. */
void an_mcadams(double *re, double *im, unsigned order, double alpha, double *a);

#endif /* ES_ANALYTICS_ANONYMISE_H */
