/*
 * codec_signal.h - the test signal of the codec tests (a 1 kHz + 300 Hz
 * mix; stereo: 1 kHz left, 300 Hz right) and the best-alignment
 * correlation they measure decoders with.  Shared by test_codec.c and
 * test_codec_formats.c.
 */
#ifndef ES_TEST_CODEC_SIGNAL_H
#define ES_TEST_CODEC_SIGNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define PI 3.14159265358979323846

static double tone(double t)
{
	return 8000.0 * sin(2 * PI * 1000.0 * t) + 6000.0 * sin(2 * PI * 300.0 * t);
}

static void gen(int16_t *buf, uint32_t rate, unsigned ch, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		double t = (double)i / rate;
		if (ch == 1) {
			buf[i] = (int16_t)lrint(tone(t));
		} else {
			buf[2 * i] = (int16_t)lrint(16000.0 * sin(2 * PI * 1000.0 * t));
			buf[2 * i + 1] = (int16_t)lrint(12000.0 * sin(2 * PI * 300.0 * t));
		}
	}
}

/* The best correlation of got against ref over lags 0..maxlag (after the
 * first tenth, where decoders settle), that lag and the SNR there. */
static double best_corr(const int16_t *ref, const int16_t *got, size_t n, size_t maxlag,
			size_t *lag_out, double *snr_out)
{
	double best = -2.0;
	size_t skip = n / 10; /* let the decoders settle */
	*lag_out = 0;
	*snr_out = 0.0;
	if (n <= skip + maxlag)
		return best;
	for (size_t lag = 0; lag <= maxlag; lag++) {
		double xy = 0, xx = 0, yy = 0;
		for (size_t i = skip; i + maxlag < n; i++) {
			double x = ref[i], y = got[i + lag];
			xy += x * y;
			xx += x * x;
			yy += y * y;
		}
		double c = (xx > 0 && yy > 0) ? xy / sqrt(xx * yy) : 0.0;
		if (c > best) {
			best = c;
			*lag_out = lag;
			double g = xy / yy, err = 0;
			for (size_t i = skip; i + maxlag < n; i++) {
				double d = ref[i] - g * got[i + lag];
				err += d * d;
			}
			*snr_out = err > 0 ? 10.0 * log10(xx / err) : 99.0;
		}
	}
	return best;
}

#endif /* ES_TEST_CODEC_SIGNAL_H */
