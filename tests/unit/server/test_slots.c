/* slots.c: the table is a power of two at least as large as asked, a hash
 * always maps inside it and to the same entry, entries start zeroed, and
 * the counters count under the lock; clearing drops each entry once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "slots.h"

struct entry {
    uint8_t hash[32];
    int used;
};

static size_t dropped;

static void
count_drop(void *entry)
{
    assert_int_equal(((struct entry *)entry)->used, 0);
    dropped++;
}

static void
test_rounds_up_and_maps_inside(void **state)
{
    static const size_t asked[] = {0, 1, 3, 4096, 5000};
    static const size_t got[] = {1, 1, 4, 4096, 8192};

    for (size_t i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
        struct slots s;
        uint8_t hash[32];

        assert_int_equal(slots_init(&s, asked[i], sizeof(struct entry)), 0);
        assert_int_equal(s.n, got[i]);
        for (int k = 0; k < 256; k++) {
            struct entry *e;

            memset(hash, k * 37 + 11, sizeof(hash));
            hash[0] = (uint8_t)k;
            e = slots_entry(&s, hash);
            assert_true((unsigned char *)e >= s.e && (unsigned char *)e < s.e + s.n * s.size);
            assert_int_equal(((unsigned char *)e - s.e) % s.size, 0);
            assert_ptr_equal(e, slots_entry(&s, hash)); /* the same hash, the same entry */
            assert_int_equal(e->used, 0);
        }
        dropped = 0;
        slots_clear(&s, count_drop);
        assert_int_equal(dropped, got[i]); /* every entry, once */
        slots_clear(&s, count_drop);       /* twice is harmless */
        assert_int_equal(dropped, got[i]);
    }
}

static void
test_counts(void **state)
{
    struct slots s;
    uint64_t hits = 9, misses = 9;

    assert_int_equal(slots_init(&s, 16, sizeof(struct entry)), 0);
    slots_stats(&s, &hits, &misses);
    assert_int_equal(hits, 0);
    assert_int_equal(misses, 0);
    slots_lock(&s);
    slots_count(&s, 1);
    slots_count(&s, 0);
    slots_count(&s, 1);
    slots_unlock(&s);
    slots_stats(&s, &hits, &misses);
    assert_int_equal(hits, 2);
    assert_int_equal(misses, 1);
    slots_clear(&s, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounds_up_and_maps_inside),
        cmocka_unit_test(test_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
