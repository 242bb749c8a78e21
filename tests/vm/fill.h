/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fill.h - the page contents of minivmm's fill modes.
 *
 * Shared by minivmm, which hands the parameters to its guest code (the guest
 * does the writing), and by pagecheck, which recomputes the expected bytes to
 * check a VM's memory from outside. One definition, so the two cannot drift.
 *
 * A fill is named by a spec string:
 *   zero        every byte 0
 *   same:S      all pages hold one content derived from S
 *   seed:S      page i holds content derived from S and i (two VMs with the
 *               same seed hold pairwise identical pages; a VM's own pages differ)
 *   unique:T    like seed, with a token T that minivmm makes from its pid and
 *               the time, so no other VM holds such a page
 *
 * Content: 8-byte word j (0..511) of page i (counted from the first page of
 * the fill) is lo | (u64)hi << 32, with, modulo 2^32,
 *   lo = a + i * sa + j * ca
 *   hi = b + i * sb + j * cb
 * Every word of a page is written. ca and cb are odd for every mode but zero,
 * so no such page is all zeros and its words differ; sa and sb are odd for
 * seed and unique, so the pages of one fill differ (for up to 2^32 pages), and
 * 0 for same. a, b, sa, sb, ca, cb come from a 64-bit FNV-1a hash of the whole
 * spec string, so "same:x", "seed:x" and "unique:x" never share content
 * (up to hash collisions).
 */
#ifndef SELF_E_TESTS_VM_FILL_H
#define SELF_E_TESTS_VM_FILL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FILL_PAGE_SIZE 4096u
#define FILL_WORDS (FILL_PAGE_SIZE / 8)

struct fill_params {
	uint32_t a, b;		/* word 0 of page 0 */
	uint32_t sa, sb;	/* added per page */
	uint32_t ca, cb;	/* added per 8-byte word */
};

static inline uint64_t fill_fnv1a64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static inline uint64_t fill_splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Parse SPEC into P. Returns 0, or -1 with a reason in *why. */
static inline int fill_parse(const char *spec, struct fill_params *p,
			     const char **why)
{
	static const char *const kinds[] = { "same:", "seed:", "unique:" };
	uint64_t h0, h1, h2;
	size_t k, n;

	memset(p, 0, sizeof(*p));
	if (strcmp(spec, "zero") == 0)
		return 0;
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		n = strlen(kinds[k]);
		if (strncmp(spec, kinds[k], n) == 0)
			break;
	}
	if (k == sizeof(kinds) / sizeof(kinds[0])) {
		*why = "must be zero, same:S, seed:S or unique:T";
		return -1;
	}
	if (spec[n] == '\0') {
		*why = "the part after ':' is empty";
		return -1;
	}
	h0 = fill_fnv1a64(spec);
	h1 = fill_splitmix64(h0);
	h2 = fill_splitmix64(h1);
	p->a = (uint32_t)h0;
	p->b = (uint32_t)(h0 >> 32);
	p->ca = (uint32_t)h2 | 1;
	p->cb = (uint32_t)(h2 >> 32) | 1;
	if (k != 0) {		/* seed and unique: pages differ */
		p->sa = (uint32_t)h1 | 1;
		p->sb = (uint32_t)(h1 >> 32) | 1;
	}
	return 0;
}

/* Word j of page i. */
static inline uint64_t fill_word(const struct fill_params *p, uint64_t i,
				 uint32_t j)
{
	uint32_t lo = p->a + (uint32_t)i * p->sa + j * p->ca;
	uint32_t hi = p->b + (uint32_t)i * p->sb + j * p->cb;

	return (uint64_t)hi << 32 | lo;
}

/* Write the expected content of page i into buf (FILL_PAGE_SIZE bytes). */
static inline void fill_page(const struct fill_params *p, uint64_t i, void *buf)
{
	uint64_t w;
	uint32_t j;

	for (j = 0; j < FILL_WORDS; j++) {
		w = fill_word(p, i, j);
		memcpy((char *)buf + 8 * j, &w, 8);	/* little endian, as the guest stores */
	}
}

#endif /* SELF_E_TESTS_VM_FILL_H */
