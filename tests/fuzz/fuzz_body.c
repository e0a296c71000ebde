/* libFuzzer target: request bodies as the MP routes read them: JSON with
 * duplicate keys refused, then the field tables (body_check) of every
 * route that takes a body (server/body.c's shapes, the server's own), then
 * the accessors the handlers use.
 * Property (issue 10 item 15): every refusal has a valid problem document.
 * The reason body_check gives is valid UTF-8 by itself (it goes into JSON),
 * and errcode_problem_text, which builds every 4xx/5xx document the server
 * sends, yields a document that parses back with its code for any detail
 * bytes at all. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "body.h"
#include "errcode.h"

/* Abort (a finding) unless text is a problem document for code. */
static void
fuzz_check_problem(char *text, enum errcode code)
{
    json_t *back;
    const char *c;

    if (text == NULL)
        abort();
    back = json_loads(text, 0, NULL);
    if (back == NULL || (c = json_string_value(json_object_get(back, "code"))) == NULL ||
        strcmp(c, errcode_name(code)) != 0 ||
        json_integer_value(json_object_get(back, "status")) != errcode_status(code) ||
        !json_is_string(json_object_get(back, "detail")))
        abort();
    json_decref(back);
    free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* every route's body shape, as the server holds them (body.c) */
    static const struct body_shape *const shapes[] = {
        &body_register,    &body_exchange, &body_renew,       &body_access,      &body_introspect,
        &body_bulk_create, &body_mp_add,   &body_keys_rotate, &body_debug_clock, &body_block,
        &body_unblock,     &body_revoke,   &body_purge,       &body_bulk_allow,
    };
    json_error_t jerr;
    json_t *doc;
    char why[160];

    if (size > 64 * 1024)
        return 0;
    /* any bytes as a detail (what vsnprintf may have cut anywhere) */
    {
        char *raw = malloc(size + 1);

        if (raw == NULL)
            return 0;
        memcpy(raw, data, size);
        raw[size] = '\0';
        fuzz_check_problem(errcode_problem_text((enum errcode)(size % ERRCODE_COUNT), raw),
                           (enum errcode)(size % ERRCODE_COUNT));
        free(raw);
    }
    doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        if (body_check(doc, shapes[i]->fields, shapes[i]->n, why, sizeof(why)) == 0) {
            for (size_t k = 0; k < shapes[i]->n; k++) {
                (void)body_str(doc, shapes[i]->fields[k].name);
                (void)body_int(doc, shapes[i]->fields[k].name, 0);
            }
        } else {
            json_t *s = json_string(why); /* NULL: not valid UTF-8 */

            if (s == NULL)
                abort();
            json_decref(s);
            fuzz_check_problem(errcode_problem_text(ERRCODE_INVALID_REQUEST, why),
                               ERRCODE_INVALID_REQUEST);
        }
    }
    json_decref(doc);
    return 0;
}
