/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split-ring chains through the echo device: direct, indirect and mixed chains,
 * fragmented guest memory, ring wrap-around, a full queue, vq_retchain, used-length
 * clamping, zero-length descriptors, independent queues and device-side kick
 * suppression, in every (device mode, driver access) pair where the path differs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

#define MAX_SEGS 16

static struct test_rng rng = {0x1234567u};

/* ---------------- requests with checked echo ---------------- */

struct req {
	int nr, nw;                 /* readable segments first, then writable */
	struct vdev_drv_seg segs[MAX_SEGS];
	uint8_t *host[MAX_SEGS];
	uint32_t expect_len;        /* min(readable bytes, writable bytes) */
	bool done;
};

/* Buffers come from sim RAM; fill readable ones with a pattern, writable with 0xEE. */
static void req_build(struct harness *h, struct req *r, int nr, int nw, uint32_t maxlen)
{
	uint64_t rt = 0, wt = 0;

	cr_assert_leq(nr + nw, MAX_SEGS);
	memset(r, 0, sizeof(*r));
	r->nr = nr;
	r->nw = nw;
	for (int i = 0; i < nr + nw; i++) {
		uint32_t len = rng_range(&rng, 1, maxlen);
		void *p;

		r->segs[i].gpa = harness_buf(h, len, &p);
		cr_assert_neq(r->segs[i].gpa, 0, "sim RAM exhausted");
		r->segs[i].len = len;
		r->segs[i].writable = i >= nr;
		r->host[i] = p;
		if (i < nr) {
			for (uint32_t k = 0; k < len; k++)
				r->host[i][k] = (uint8_t)rng_next(&rng);
			rt += len;
		} else {
			memset(p, 0xEE, len);
			wt += len;
		}
	}
	r->expect_len = (uint32_t)(rt < wt ? rt : wt);
}

/* The writable segments hold the first expect_len readable bytes, then untouched 0xEE. */
static void req_check(const struct req *r, uint32_t used_len, const char *what)
{
	int ri = 0, wi = r->nr;
	uint32_t roff = 0, woff = 0, n = 0;

	cr_assert_eq(used_len, r->expect_len, "%s: used length %u, expected %u", what, used_len,
		     r->expect_len);
	while (wi < r->nr + r->nw) {
		uint8_t want;

		if (n < r->expect_len) {
			while (roff == r->segs[ri].len) {
				ri++;
				roff = 0;
			}
			want = r->host[ri][roff++];
		} else {
			want = 0xEE;
		}
		cr_assert_eq(r->host[wi][woff], want, "%s: byte %u of writable data: 0x%02x, want 0x%02x",
			     what, n, r->host[wi][woff], want);
		n++;
		if (++woff == r->segs[wi].len) {
			wi++;
			woff = 0;
		}
	}
}

/* Enqueue `n` requests, kick once, and check every completion (auto-mode echo). */
static void run_batch(struct harness *h, uint16_t q, struct req *reqs, int n, bool indirect,
		      const char *what)
{
	int got = 0;
	void *tok;
	uint32_t len;

	for (int i = 0; i < n; i++) {
		int rc = vdev_drv_enqueue(h->drv, q, reqs[i].segs, reqs[i].nr + reqs[i].nw, indirect,
					  &reqs[i]);
		cr_assert_eq(rc, 0, "%s: enqueue %d: %d", what, i, rc);
	}
	vdev_drv_kick(h->drv, q);
	while (vdev_drv_dequeue(h->drv, q, &tok, &len) == 1) {
		struct req *r = tok;

		cr_assert(r >= reqs && r < reqs + n, "%s: unknown token", what);
		cr_assert(!r->done, "%s: request completed twice", what);
		r->done = true;
		req_check(r, len, what);
		got++;
	}
	cr_assert_eq(got, n, "%s: %d of %d requests completed", what, got, n);
}

/* ---------------- tests ---------------- */

/* Every split of 1..16 descriptors into readable then writable segments. */
static void chains_all_splits(bool indirect)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config ecfg = {.qsize = 64};
		struct harness h;
		struct req reqs[MAX_SEGS + 1];
		uint64_t mark;
		char what[96];

		open_ready(&h, c, &ecfg, indirect ? VIRTIO_RING_F_INDIRECT_DESC : 0, 64);
		if (indirect)
			cr_assert(vdev_drv_features(h.drv) & VIRTIO_RING_F_INDIRECT_DESC,
				  "%s: INDIRECT_DESC not negotiated", c->name);
		mark = vdev_sim_alloc_mark(h.sim);
		for (int n = 1; n <= MAX_SEGS; n++) {
			int nb = 0, used = 0;

			snprintf(what, sizeof(what), "%s %s n=%d", c->name,
				 indirect ? "indirect" : "direct", n);
			for (int nr = 0; nr <= n; nr++) {
				/* batch as many as the 64-entry ring holds */
				int cost = indirect ? 1 : n;

				if (used + cost > 64) {
					run_batch(&h, 0, reqs, nb, indirect, what);
					vdev_sim_alloc_reset(h.sim, mark);
					nb = used = 0;
				}
				req_build(&h, &reqs[nb++], nr, n - nr, 300);
				used += cost;
			}
			run_batch(&h, 0, reqs, nb, indirect, what);
			vdev_sim_alloc_reset(h.sim, mark);
		}
		assert_healthy(&h, c->name);
		cr_assert_eq(h.dev->chain_errors, 0);
		harness_close(&h);
	}
}

Test(vq_chains, direct_chains_mixed_segments)
{
	chains_all_splits(false);
}

Test(vq_chains, indirect_chains_mixed_segments)
{
	chains_all_splits(true);
}

/* Direct and indirect requests interleaved in one queue share the descriptor table. */
Test(vq_chains, direct_and_indirect_interleaved)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config ecfg = {.qsize = 32};
		struct harness h;
		uint64_t mark;

		open_ready(&h, c, &ecfg, VIRTIO_RING_F_INDIRECT_DESC, 32);
		mark = vdev_sim_alloc_mark(h.sim);
		for (int round = 0; round < 200; round++) {
			struct req r;
			bool indirect = round % 2;

			req_build(&h, &r, (int)rng_range(&rng, 1, 4), (int)rng_range(&rng, 1, 4), 200);
			run_batch(&h, 0, &r, 1, indirect, c->name);
			vdev_sim_alloc_reset(h.sim, mark);
		}
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/*
 * A chain of direct descriptors that ends in one indirect descriptor is legal (only
 * NEXT on the indirect descriptor itself is not); built by hand since the driver never
 * makes one.
 */
Test(vq_chains, direct_then_indirect_chain)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config ecfg = {.qsize = 16, .manual = true};
		struct harness h;
		struct raw_ring r;
		uint8_t *hdr, *data, *out, *table, expect[48];
		uint64_t ghdr, gdata, gout, gtable;
		struct iovec iov[8];
		uint16_t fl[8], head;
		int n;

		open_ready(&h, c, &ecfg, VIRTIO_RING_F_INDIRECT_DESC, 16);
		raw_ring_init(&h, 0, &r);
		ghdr = harness_buf(&h, 16, (void **)&hdr);
		gdata = harness_buf(&h, 32, (void **)&data);
		gout = harness_buf(&h, 64, (void **)&out);
		gtable = harness_buf(&h, 32, (void **)&table);
		for (int i = 0; i < 16; i++)
			hdr[i] = (uint8_t)(0xA0 + i);
		for (int i = 0; i < 32; i++)
			data[i] = (uint8_t)(0x10 + i);
		memset(out, 0xEE, 64);
		memcpy(expect, hdr, 16);
		memcpy(expect + 16, data, 32);

		put_desc(r.d, 3, ghdr, 16, VRING_DESC_F_NEXT, 5);
		put_desc(r.d, 5, gtable, 32, VRING_DESC_F_INDIRECT, 0);
		put_desc(table, 0, gdata, 32, VRING_DESC_F_NEXT, 1);
		put_desc(table, 1, gout, 48, VRING_DESC_F_WRITE, 0);
		raw_push(&r, 3);

		n = vq_getchain(&h.dev->vq[0], &head, iov, 8, fl);
		cr_assert_eq(n, 3, "%s: vq_getchain returned %d", c->name, n);
		cr_assert_eq(head, 3);
		expect_iov(iov, fl, 0, hdr, 16, false, c->name);
		expect_iov(iov, fl, 1, data, 32, false, c->name);
		expect_iov(iov, fl, 2, out, 48, true, c->name);
		vq_retchain(&h.dev->vq[0]);

		/* and the echo device serves it */
		cr_assert_eq(echo_dev_process(h.dev, 0), 1);
		cr_assert_eq(raw_used_idx(&r), 1);
		expect_used(&r, 0, 3, 48, c->name);
		cr_assert_eq(memcmp(out, expect, 48), 0, "%s: echoed bytes differ", c->name);
		cr_assert_eq(out[48], 0xEE, "%s: wrote past the writable descriptor", c->name);
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/* Same sim as the harness (16 MiB of RAM), but no translation crosses a FRAG boundary. */
#define FRAG 512

/* One descriptor over several 512-byte host fragments becomes several iovecs. */
Test(vq_chains, fragmented_memory_iovecs)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config ecfg = {.qsize = 8, .manual = true};
		struct harness h;
		struct raw_ring r;
		uint8_t *in, *out;
		uint64_t gin, gout;
		struct iovec iov[16];
		uint16_t fl[16], head;
		int n, rc;

		open_sim(&h, c->mode, c->access, ecfg, 16 << 20, FRAG);
		rc = harness_ready(&h, 0, 8);
		cr_assert_eq(rc, 0, "%s: harness_ready with frag %d: %d", c->name, FRAG, rc);
		raw_ring_init(&h, 0, &r);
		/* 4 fragments for the readable buffer: starts 100 bytes into a fragment */
		gin = vdev_sim_alloc(h.sim, 4 * FRAG, FRAG) + 100;
		in = vdev_sim_ptr(h.sim, gin, 3 * FRAG);
		/* 3 fragments, exactly aligned, for the writable one */
		gout = vdev_sim_alloc(h.sim, 3 * FRAG, FRAG);
		out = vdev_sim_ptr(h.sim, gout, 3 * FRAG);
		cr_assert(in && out);
		for (int i = 0; i < 3 * FRAG; i++)
			in[i] = (uint8_t)(i * 7 + 3);
		memset(out, 0, 3 * FRAG);
		put_desc(r.d, 0, gin, 3 * FRAG, VRING_DESC_F_NEXT, 1);
		put_desc(r.d, 1, gout, 3 * FRAG, VRING_DESC_F_WRITE, 0);
		raw_push(&r, 0);

		n = vq_getchain(&h.dev->vq[0], &head, iov, 16, fl);
		cr_assert_eq(n, 7, "%s: %d iovecs, expected 4 readable + 3 writable", c->name, n);
		{
			size_t want_len[7] = {FRAG - 100, FRAG, FRAG, 100, FRAG, FRAG, FRAG};
			uint8_t *want_base[7] = {in, in + FRAG - 100, in + 2 * FRAG - 100,
						 in + 3 * FRAG - 100, out, out + FRAG, out + 2 * FRAG};
			for (int i = 0; i < 7; i++)
				expect_iov(iov, fl, i, want_base[i], want_len[i], i >= 4, c->name);
		}
		vq_retchain(&h.dev->vq[0]);
		cr_assert_eq(echo_dev_process(h.dev, 0), 1);
		cr_assert_eq(memcmp(in, out, 3 * FRAG), 0, "%s: fragmented echo differs", c->name);
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/* Random requests over fragmented memory still echo the right bytes. */
Test(vq_chains, fragmented_memory_roundtrip)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config ecfg = {.qsize = 16};
		struct harness h;
		uint64_t mark;
		int rc;

		open_sim(&h, c->mode, c->access, ecfg, 16 << 20, FRAG);
		rc = harness_ready(&h, VIRTIO_RING_F_INDIRECT_DESC, 16);
		cr_assert_eq(rc, 0, "%s: harness_ready with frag %d: %d", c->name, FRAG, rc);
		mark = vdev_sim_alloc_mark(h.sim);
		for (int round = 0; round < 300; round++) {
			struct req reqs[4];
			int nb = (int)rng_range(&rng, 1, 4);

			for (int i = 0; i < nb; i++)
				/* at most 4 x 4 descriptors: fits the 16-entry ring */
				req_build(&h, &reqs[i], (int)rng_range(&rng, 1, 2), (int)rng_range(&rng, 1, 2),
					  2000);
			run_batch(&h, 0, reqs, nb, round % 3 == 0, c->name);
			vdev_sim_alloc_reset(h.sim, mark);
		}
		assert_healthy(&h, c->name);
		cr_assert_eq(h.dev->chain_errors, 0);
		harness_close(&h);
	}
}

/* Thousands of requests through a small ring wrap both the ring and its slots. */
Test(vq_chains, ring_wraparound_small_queues, .timeout = 60)
{
	static const uint16_t sizes[] = {8, 16};

	FOR_EACH_COMBO(c)
	{
		for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
			uint16_t size = sizes[si];
			struct echo_dev_config ecfg = {.qsize = size};
			struct harness h;
			struct raw_ring r;
			uint64_t mark;
			int total = 0;
			char what[64];

			snprintf(what, sizeof(what), "%s size %u", c->name, size);
			open_ready(&h, c, &ecfg, VIRTIO_RING_F_INDIRECT_DESC, size);
			cr_assert_eq(vdev_drv_queue_size(h.drv, 0), size, "%s: queue size", what);
			raw_ring_init(&h, 0, &r);
			mark = vdev_sim_alloc_mark(h.sim);
			while (total < 6000) {
				struct req reqs[16];
				/* up to a full ring of 1-descriptor chains or 2-descriptor ones */
				bool indirect = rng_next(&rng) % 4 == 0;
				int nseg = (int)rng_range(&rng, 1, 2);
				int max = indirect ? size : size / nseg;
				int nb = (int)rng_range(&rng, 1, (uint32_t)max);

				for (int i = 0; i < nb; i++) {
					if (nseg == 1)
						req_build(&h, &reqs[i], 0, 1, 32);
					else
						req_build(&h, &reqs[i], 1, 1, 32);
				}
				run_batch(&h, 0, reqs, nb, indirect, what);
				vdev_sim_alloc_reset(h.sim, mark);
				total += nb;
			}
			/* the device's used index is the ring's, mod 2^16 */
			cr_assert_eq(raw_used_idx(&r), (uint16_t)total, "%s", what);
			cr_assert_eq(h.dev->vq[0].used_idx, (uint16_t)total, "%s", what);
			cr_assert_eq(h.dev->echoed, (uint64_t)total, "%s", what);
			cr_assert_eq(vdev_drv_queue_free(h.drv, 0), size, "%s: descriptors leaked",
				     what);
			assert_healthy(&h, what);
			harness_close(&h);
		}
	}
}

/* Enqueue the same request on queue 0 until the driver refuses: -ENOSPC after `fit`. */
static void fill_to_enospc(struct harness *h, const char *what, const struct vdev_drv_seg *segs,
			   int nseg, bool indirect, int fit, const char *kind)
{
	int n, rc;

	for (n = 0; (rc = vdev_drv_enqueue(h->drv, 0, segs, nseg, indirect, NULL)) == 0; n++)
		cr_assert_lt(n, 1000);
	cr_assert_eq(rc, -ENOSPC, "%s: full queue gave %d", what, rc);
	cr_assert_eq(n, fit, "%s: %d %s requests fit", what, n, kind);
}

/* Queue 0 completes exactly n requests, each with a used length of 16. */
static void reap_16_byte_completions(struct harness *h, int n)
{
	void *tok;
	uint32_t len;
	int got;

	for (got = 0; vdev_drv_dequeue(h->drv, 0, &tok, &len) == 1; got++)
		cr_assert_eq(len, 16);
	cr_assert_eq(got, n);
}

/* The driver reports -ENOSPC when the descriptor table is exhausted, and recovers. */
Test(vq_chains, queue_full_enospc)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config ecfg = {.qsize = 16};
		struct harness h;
		uint8_t *p;
		uint64_t g;
		struct vdev_drv_seg one = {0}, three[3];

		open_ready(&h, c, &ecfg, VIRTIO_RING_F_INDIRECT_DESC, 16);
		g = harness_buf(&h, 64, (void **)&p);
		one = (struct vdev_drv_seg){.gpa = g, .len = 16, .writable = true};
		three[0] = (struct vdev_drv_seg){.gpa = g, .len = 8, .writable = false};
		three[1] = (struct vdev_drv_seg){.gpa = g + 16, .len = 8, .writable = false};
		three[2] = (struct vdev_drv_seg){.gpa = g + 32, .len = 16, .writable = true};

		/* one descriptor per request: exactly `size` fit */
		fill_to_enospc(&h, c->name, &one, 1, false, 16, "one-descriptor");
		cr_assert_eq(vdev_drv_queue_free(h.drv, 0), 0);
		vdev_drv_kick(h.drv, 0);
		cr_assert_eq(dequeue_all(&h, 0), 16);

		/* three descriptors per request: floor(16 / 3) fit */
		fill_to_enospc(&h, c->name, three, 3, false, 5, "three-descriptor");
		vdev_drv_kick(h.drv, 0);
		reap_16_byte_completions(&h, 5);

		/* indirect: one ring descriptor per request again */
		fill_to_enospc(&h, c->name, three, 3, true, 16, "indirect");
		vdev_drv_kick(h.drv, 0);
		reap_16_byte_completions(&h, 16);
		cr_assert_eq(vdev_drv_queue_free(h.drv, 0), 16);
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/* A chain given back with vq_retchain is taken again, unchanged, before later ones. */
Test(vq_chains, retchain_takes_again)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config ecfg = {.qsize = 16, .manual = true};
		struct harness h;
		struct req a, b;
		struct iovec iov[8], iov2[8];
		uint16_t fl[8], fl2[8], ha, ha2, hb;
		int n, n2, rc;
		void *tok;
		uint32_t len;
		struct virtio_vq_info *vq;

		open_ready(&h, c, &ecfg, 0, 16);
		vq = &h.dev->vq[0];
		req_build(&h, &a, 2, 1, 64);
		req_build(&h, &b, 1, 2, 64);
		rc = vdev_drv_enqueue(h.drv, 0, a.segs, 3, false, &a);
		cr_assert_eq(rc, 0);
		rc = vdev_drv_enqueue(h.drv, 0, b.segs, 3, false, &b);
		cr_assert_eq(rc, 0);

		n = vq_getchain(vq, &ha, iov, 8, fl);
		cr_assert_eq(n, 3, "%s: vq_getchain: %d", c->name, n);
		cr_assert_eq(vq->n_inflight, 1);
		vq_retchain(vq);
		cr_assert_eq(vq->n_inflight, 0, "%s: retchain left the head in flight", c->name);
		cr_assert_eq(vq_has_descs(vq), 1);
		n2 = vq_getchain(vq, &ha2, iov2, 8, fl2);
		cr_assert_eq(n2, n);
		cr_assert_eq(ha2, ha, "%s: retchain gave head %u then %u", c->name, ha, ha2);
		for (int i = 0; i < n; i++) {
			cr_assert_eq(iov2[i].iov_base, iov[i].iov_base);
			cr_assert_eq(iov2[i].iov_len, iov[i].iov_len);
			cr_assert_eq(fl2[i], fl[i]);
		}
		n = vq_getchain(vq, &hb, iov2, 8, fl2);
		cr_assert_eq(n, 3);
		cr_assert_neq(hb, ha);
		cr_assert_eq(vq_getchain(vq, &hb, iov2, 8, fl2), 0, "%s: a third chain appeared",
			     c->name);

		/* complete b first: completions may come in any order */
		vq_relchain(vq, hb, b.expect_len);
		vq_relchain(vq, ha, 0);
		vq_endchains(vq, 1);
		cr_assert_eq(vq->n_inflight, 0);
		cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &tok, &len), 1);
		cr_assert_eq(tok, &b);
		cr_assert_eq(len, b.expect_len);
		cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &tok, &len), 1);
		cr_assert_eq(tok, &a);
		cr_assert_eq(len, 0);
		cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &tok, &len), 0);
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/* A device that claims more bytes than the chain could take is clamped (H20). */
Test(vq_chains, used_length_clamped_to_writable)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config ecfg = {.qsize = 16, .manual = true};
		struct harness h;
		struct vdev_drv_seg segs[3];
		uint8_t *p;
		uint64_t g;
		struct iovec iov[8];
		uint16_t fl[8], head[3];
		void *tok;
		uint32_t len;
		struct virtio_vq_info *vq;
		static const uint32_t claim[3] = {1000, 0xFFFFFFFFu, 70};
		static const uint32_t expect[3] = {16, 0, 16};

		open_ready(&h, c, &ecfg, 0, 16);
		vq = &h.dev->vq[0];
		g = harness_buf(&h, 256, (void **)&p);
		/* 8 readable + 10 + 6 writable */
		segs[0] = (struct vdev_drv_seg){.gpa = g, .len = 8, .writable = false};
		segs[1] = (struct vdev_drv_seg){.gpa = g + 64, .len = 10, .writable = true};
		segs[2] = (struct vdev_drv_seg){.gpa = g + 128, .len = 6, .writable = true};
		cr_assert_eq(vdev_drv_enqueue(h.drv, 0, segs, 3, false, (void *)1), 0);
		/* only readable: nothing can be reported written */
		cr_assert_eq(vdev_drv_enqueue(h.drv, 0, segs, 1, false, (void *)2), 0);
		cr_assert_eq(vdev_drv_enqueue(h.drv, 0, segs, 3, false, (void *)3), 0);
		for (int i = 0; i < 3; i++)
			cr_assert_gt(vq_getchain(vq, &head[i], iov, 8, fl), 0);
		for (int i = 0; i < 3; i++)
			vq_relchain(vq, head[i], claim[i]);
		vq_endchains(vq, 1);
		for (int i = 0; i < 3; i++) {
			cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &tok, &len), 1);
			cr_assert_eq(tok, (void *)(uintptr_t)(i + 1));
			cr_assert_eq(len, expect[i], "%s: chain %d claimed %u, used length %u, want %u",
				     c->name, i, claim[i], len, expect[i]);
		}
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/* Zero-length descriptors add no iovec; the rest of the chain is served normally. */
Test(vq_chains, zero_length_descriptors)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config ecfg = {.qsize = 16, .manual = true};
		struct harness h;
		struct raw_ring r;
		uint8_t *in, *out, *table;
		uint64_t gin, gout, gtable;
		struct iovec iov[8];
		uint16_t fl[8], head;
		int n;

		open_ready(&h, c, &ecfg, VIRTIO_RING_F_INDIRECT_DESC, 16);
		raw_ring_init(&h, 0, &r);
		gin = harness_buf(&h, 16, (void **)&in);
		gout = harness_buf(&h, 16, (void **)&out);
		gtable = harness_buf(&h, 64, (void **)&table);
		for (int i = 0; i < 16; i++)
			in[i] = (uint8_t)(0x40 + i);
		memset(out, 0, 16);

		/* direct: R0, R16, W0, W16 */
		put_desc(r.d, 0, gin, 0, VRING_DESC_F_NEXT, 1);
		put_desc(r.d, 1, gin, 16, VRING_DESC_F_NEXT, 2);
		put_desc(r.d, 2, gout, 0, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
		put_desc(r.d, 3, gout, 16, VRING_DESC_F_WRITE, 0);
		raw_push(&r, 0);
		n = vq_getchain(&h.dev->vq[0], &head, iov, 8, fl);
		cr_assert_eq(n, 2, "%s: zero-length descriptors gave %d iovecs", c->name, n);
		cr_assert_eq(head, 0);
		cr_assert_eq(iov[0].iov_len, 16);
		cr_assert_eq(iov[1].iov_len, 16);
		cr_assert_eq(fl[0] & VRING_DESC_F_WRITE, 0);
		cr_assert_neq(fl[1] & VRING_DESC_F_WRITE, 0);
		vq_retchain(&h.dev->vq[0]);
		cr_assert_eq(echo_dev_process(h.dev, 0), 1);
		cr_assert_eq(memcmp(in, out, 16), 0);

		/* indirect: zero-length entries at both ends of the table */
		memset(out, 0, 16);
		put_desc(table, 0, gin, 0, VRING_DESC_F_NEXT, 1);
		put_desc(table, 1, gin, 16, VRING_DESC_F_NEXT, 2);
		put_desc(table, 2, gout, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
		put_desc(table, 3, gout, 0, VRING_DESC_F_WRITE, 0);
		put_desc(r.d, 5, gtable, 64, VRING_DESC_F_INDIRECT, 0);
		raw_push(&r, 5);
		cr_assert_eq(echo_dev_process(h.dev, 0), 1);
		cr_assert_eq(raw_used_idx(&r), 2);
		expect_used(&r, 1, 5, 16, c->name);
		cr_assert_eq(memcmp(in, out, 16), 0);
		assert_healthy(&h, c->name);
		cr_assert_eq(h.dev->vq[0].n_inflight, 0);
		harness_close(&h);
	}
}

/* Queues keep separate indices, sizes and kicks. */
Test(vq_chains, multiple_queues_independent)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config ecfg = {.qsize = 32, .nvq = 3};
		bool legacy = c->access == VDEV_DRV_LEGACY;
		/* legacy drivers cannot choose sizes: all queues use the device maximum */
		uint16_t sizes[3] = {8, 16, 32};
		struct harness h;
		struct req reqs[40];
		uint64_t mark;
		void *tok;
		uint32_t len;
		int rc, n;

		if (legacy)
			sizes[0] = sizes[1] = 32;
		open_combo(&h, c, &ecfg);
		cr_assert_eq(vdev_drv_negotiate(h.drv, 0, NULL), 0);
		for (uint16_t q = 0; q < 3; q++) {
			rc = vdev_drv_queue_setup(h.drv, q, sizes[q], VIRTIO_MSI_NO_VECTOR);
			cr_assert_eq(rc, 0, "%s: queue %u setup: %d", c->name, q, rc);
			cr_assert_eq(vdev_drv_queue_size(h.drv, q), sizes[q]);
			cr_assert_eq(h.dev->vq[q].qsize, sizes[q], "%s: device size of queue %u",
				     c->name, q);
		}
		cr_assert_eq(vdev_drv_driver_ok(h.drv), 0);
		mark = vdev_sim_alloc_mark(h.sim);

		/* requests on queues 0 and 2, kick only 2 */
		for (int i = 0; i < 3; i++) {
			req_build(&h, &reqs[i], 1, 1, 40);
			cr_assert_eq(vdev_drv_enqueue(h.drv, 0, reqs[i].segs, 2, false, &reqs[i]), 0);
		}
		for (int i = 3; i < 8; i++) {
			req_build(&h, &reqs[i], 1, 1, 40);
			cr_assert_eq(vdev_drv_enqueue(h.drv, 2, reqs[i].segs, 2, false, &reqs[i]), 0);
		}
		vdev_drv_kick(h.drv, 2);
		for (n = 0; vdev_drv_dequeue(h.drv, 2, &tok, &len) == 1; n++)
			req_check(tok, len, c->name);
		cr_assert_eq(n, 5);
		cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &tok, &len), 0,
			     "%s: queue 0 served by a kick of queue 2", c->name);
		cr_assert_eq(h.dev->vq[0].used_idx, 0);
		cr_assert_eq(h.dev->vq[1].used_idx, 0);
		cr_assert_eq(h.dev->vq[2].used_idx, 5);
		vdev_drv_kick(h.drv, 0);
		for (n = 0; vdev_drv_dequeue(h.drv, 0, &tok, &len) == 1; n++)
			req_check(tok, len, c->name);
		cr_assert_eq(n, 3);
		vdev_sim_alloc_reset(h.sim, mark);

		/* wrap queue 0 many times while queue 1 advances slowly */
		for (int round = 0; round < 300; round++) {
			int nb = (int)rng_range(&rng, 1, sizes[0] / 2);

			for (int i = 0; i < nb; i++)
				req_build(&h, &reqs[i], 1, 1, 16);
			run_batch(&h, 0, reqs, nb, false, c->name);
			if (round % 50 == 0) {
				req_build(&h, &reqs[0], 1, 1, 16);
				run_batch(&h, 1, reqs, 1, false, c->name);
			}
			vdev_sim_alloc_reset(h.sim, mark);
		}
		cr_assert_eq(h.dev->vq[1].used_idx, 6);
		cr_assert_eq(h.dev->vq[2].used_idx, 5);
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/*
 * The kick suppression tests' device: a manual echo with one 16-entry queue, EVENT_IDX
 * negotiated exactly when asked for, its rings in `r`, and a 16-byte writable `seg`.
 */
static void open_kicks(struct harness *h, const struct fx_mode *c, uint64_t features,
		       struct raw_ring *r, struct vdev_drv_seg *seg)
{
	struct echo_dev_config ecfg = {.qsize = 16, .manual = true};

	open_ready(h, c, &ecfg, features, 16);
	cr_assert_eq(vdev_drv_features(h->drv) & VIRTIO_RING_F_EVENT_IDX,
		     features & VIRTIO_RING_F_EVENT_IDX, "%s: EVENT_IDX negotiation", c->name);
	raw_ring_init(h, 0, r);
	*seg = (struct vdev_drv_seg){.gpa = harness_buf(h, 16, NULL), .len = 16, .writable = true};
}

/*
 * Device-side kick suppression without EVENT_IDX: vdev_vq_kick_disable() sets
 * NO_NOTIFY, so the driver does not kick until vdev_vq_kick_enable().
 */
Test(vq_chains, kick_suppression_flags)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		struct raw_ring r;
		struct vdev_drv_seg seg;
		struct virtio_vq_info *vq;
		uint64_t kicks;

		open_kicks(&h, c, 0, &r, &seg);
		vq = &h.dev->vq[0];
		kicks = h.dev->kicks;
		enqueue_notify(&h, 0, &seg, 1, c->name, "kicks on by default");
		cr_assert_eq(h.dev->kicks, kicks + 1);

		vdev_vq_kick_disable(vq);
		cr_assert_neq(get16(r.u) & VRING_USED_F_NO_NOTIFY, 0,
			      "%s: NO_NOTIFY not set in used->flags", c->name);
		for (int i = 0; i < 3; i++)
			enqueue_notify(&h, 0, &seg, 0, c->name, "driver kicked while suppressed");
		cr_assert_eq(h.dev->kicks, kicks + 1);
		/* chains arrived while kicks were off: enable says so */
		cr_assert_eq(vdev_vq_kick_enable(vq), 1, "%s: kick_enable missed pending chains",
			     c->name);
		cr_assert_eq(get16(r.u) & VRING_USED_F_NO_NOTIFY, 0);
		cr_assert_eq(echo_dev_process(h.dev, 0), 4);
		cr_assert_eq(vdev_vq_kick_enable(vq), 0, "%s: nothing pending after draining",
			     c->name);
		enqueue_notify(&h, 0, &seg, 1, c->name, "no kick after re-enable");
		cr_assert_eq(h.dev->kicks, kicks + 2);
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/*
 * With EVENT_IDX the device steers kicks through avail_event: it publishes its
 * position when it finds the ring empty, and vdev_vq_kick_disable() stops that, so
 * the driver's next requests do not kick.
 */
Test(vq_chains, kick_suppression_event_idx)
{
	FOR_EACH_COMBO(c)
	{
		struct harness h;
		struct raw_ring r;
		struct vdev_drv_seg seg;
		struct virtio_vq_info *vq;
		uint64_t kicks;
		uint16_t ae;

		open_kicks(&h, c, VIRTIO_RING_F_EVENT_IDX, &r, &seg);
		vq = &h.dev->vq[0];
		kicks = h.dev->kicks;

		/* the device finds the ring empty at 0: the first request kicks */
		cr_assert_eq(echo_dev_process(h.dev, 0), 0);
		enqueue_notify(&h, 0, &seg, 1, c->name, "first request did not kick");
		/* a second one before the device looked again does not */
		enqueue_notify(&h, 0, &seg, 0, c->name, "kicked past avail_event");
		cr_assert_eq(h.dev->kicks, kicks + 1);

		/* the device drains and publishes avail_event = 2 */
		cr_assert_eq(echo_dev_process(h.dev, 0), 2);
		ae = raw_avail_event(&r);
		cr_assert_eq(ae, 2, "%s: avail_event %u after draining 2", c->name, ae);
		enqueue_notify(&h, 0, &seg, 1, c->name, "no kick at avail_event");

		/* kicks off: draining no longer moves avail_event */
		vdev_vq_kick_disable(vq);
		cr_assert_eq(echo_dev_process(h.dev, 0), 1);
		cr_assert_eq(raw_avail_event(&r), 2, "%s: avail_event moved while kicks were off",
			     c->name);
		for (int i = 0; i < 3; i++)
			enqueue_notify(&h, 0, &seg, 0, c->name, "kicked while suppressed");
		cr_assert_eq(h.dev->kicks, kicks + 2);
		cr_assert_eq(vdev_vq_kick_enable(vq), 1, "%s: kick_enable missed pending chains",
			     c->name);
		cr_assert_eq(echo_dev_process(h.dev, 0), 3);
		cr_assert_eq(raw_avail_event(&r), 6);
		enqueue_notify(&h, 0, &seg, 1, c->name, "no kick after re-enable");
		cr_assert_eq(h.dev->kicks, kicks + 3);
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}

/* Batched completions: released at once (the head may be reused), visible to the
 * driver only when published, by vdev_vq_publish_used(), vq_relchain() or
 * vq_endchains(), and then in the order they were released. */
Test(vq_chains, batched_completions_publish_once)
{
	FOR_EACH_COMBO(c)
	{
		struct echo_dev_config ecfg = {.qsize = 16, .manual = true};
		struct harness h;
		struct req r[4];
		struct iovec iov[8];
		uint16_t fl[8], head[4];
		struct virtio_vq_info *vq;
		void *tok;
		uint32_t len;

		open_ready(&h, c, &ecfg, 0, 16);
		vq = &h.dev->vq[0];
		for (int i = 0; i < 4; i++) {
			req_build(&h, &r[i], 1, 1, 64);
			cr_assert_eq(vdev_drv_enqueue(h.drv, 0, r[i].segs, 2, false, &r[i]), 0);
		}
		for (int i = 0; i < 4; i++)
			cr_assert_gt(vq_getchain(vq, &head[i], iov, 8, fl), 0, "%s", c->name);

		vdev_vq_relchain_batch(vq, head[1], 0);
		vdev_vq_relchain_batch(vq, head[0], 0);
		cr_assert_eq(vq->n_inflight, 2, "%s: batched chains are released at once", c->name);
		cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &tok, &len), 0,
			     "%s: a batched completion was visible before it was published", c->name);
		vdev_vq_publish_used(vq);
		cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &tok, &len), 1);
		cr_assert_eq(tok, &r[1], "%s: completions out of release order", c->name);
		cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &tok, &len), 1);
		cr_assert_eq(tok, &r[0]);

		/* vq_relchain publishes what was batched before it; so does vq_endchains. */
		vdev_vq_relchain_batch(vq, head[2], 0);
		vq_relchain(vq, head[3], 0);
		cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &tok, &len), 1);
		cr_assert_eq(tok, &r[2]);
		cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &tok, &len), 1);
		cr_assert_eq(tok, &r[3]);
		cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &tok, &len), 0);
		vq_endchains(vq, 1);

		/* A completion for a head not in flight is refused, batched or not. */
		vdev_vq_relchain_batch(vq, head[0], 0);
		vdev_vq_publish_used(vq);
		cr_assert_eq(vdev_drv_dequeue(h.drv, 0, &tok, &len), 0);
		vdev_vq_relchain_batch(NULL, 0, 0);
		vdev_vq_publish_used(NULL);
		assert_healthy(&h, c->name);
		harness_close(&h);
	}
}
