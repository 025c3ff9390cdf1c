/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The token bucket behind rate_bytes_per_sec. Rate and depth are at most 2^32 - 1,
 * which keeps every intermediate product under 2^63: elapsed time is only ever
 * multiplied by the rate while it is shorter than the time to fill the bucket.
 */
#include "devices/rng/rng_internal.h"

void rng_limiter_set(struct rng_limiter *l, uint64_t rate, uint64_t burst, uint64_t now)
{
	l->rate = rate;
	l->burst = burst;
	l->tokens = burst;
	l->last_ns = now;
}

/* Time for the bucket to go from `tokens` to full, rounded up. */
static uint64_t fill_ns(const struct rng_limiter *l)
{
	return ((l->burst - l->tokens) * RNG_NS_PER_SEC + l->rate - 1) / l->rate;
}

void rng_limiter_refill(struct rng_limiter *l, uint64_t now)
{
	uint64_t elapsed, add;

	if (l->rate == 0 || now <= l->last_ns)
		return;
	elapsed = now - l->last_ns;
	if (l->tokens >= l->burst || elapsed >= fill_ns(l)) {
		l->tokens = l->burst;
		l->last_ns = now;
		return;
	}
	/* elapsed < fill_ns <= 2^32 * 1e9 / rate + 1, so elapsed * rate < 2^63. */
	add = elapsed * l->rate / RNG_NS_PER_SEC;
	if (add == 0)
		return; /* keep the fraction: last_ns stays where it was */
	l->tokens += add;
	/* Advance by exactly the time those bytes took, so no fraction is lost. */
	l->last_ns += add * RNG_NS_PER_SEC / l->rate;
}

uint64_t rng_limiter_wait_ns(const struct rng_limiter *l, uint64_t want, uint64_t now)
{
	uint64_t need_ns, spent;

	if (l->rate == 0 || l->tokens >= want)
		return 0;
	need_ns = ((want - l->tokens) * RNG_NS_PER_SEC + l->rate - 1) / l->rate;
	spent = now > l->last_ns ? now - l->last_ns : 0;
	return need_ns > spent ? need_ns - spent : 0;
}

void rng_limiter_take(struct rng_limiter *l, uint64_t n)
{
	if (l->rate == 0)
		return;
	l->tokens = n >= l->tokens ? 0 : l->tokens - n;
}
