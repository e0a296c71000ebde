/* libFuzzer target: request bodies as the MP routes read them: JSON with
 * duplicate keys refused, then the field tables (body_check) of every MP
 * route, then the accessors the handlers use. The tables copy those of
 * server/mpapi.c (static there; keep the two in step).
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

static const struct body_field fuzz_register[] = {
    {.name = "hardware_id", .type = BODY_TEXT, .required = 1, .max = 256},
    {.name = "name", .type = BODY_TEXT, .required = 1, .max = 256},
    {.name = "proof", .type = BODY_TOKEN, .required = 1, .max = 8192},
};
static const struct body_field fuzz_exchange[] = {
    {.name = "bulk_token", .type = BODY_TOKEN, .required = 1, .max = 8192},
    {.name = "hardware_id", .type = BODY_TEXT, .required = 1, .max = 256},
    {.name = "name", .type = BODY_TEXT, .required = 1, .max = 256},
    {.name = "proof", .type = BODY_TOKEN, .required = 1, .max = 8192},
    {.name = "client_address", .type = BODY_TEXT, .max = 49},
};
/* renewals and access tokens */
static const struct body_field fuzz_token_proof[] = {
    {.name = "token", .type = BODY_TOKEN, .required = 1, .max = 8192},
    {.name = "proof", .type = BODY_TOKEN, .required = 1, .max = 8192},
};
static const struct body_field fuzz_introspect[] = {
    {.name = "token", .type = BODY_TOKEN, .required = 1, .max = 8192},
};
static const struct body_field fuzz_admin[] = {
    {.name = "lifetime_minutes", .type = BODY_INT, .min = 1, .imax = 10080},
    {.name = "max_uses", .type = BODY_INT, .min = 1, .imax = 1000000000},
    {.name = "note", .type = BODY_TEXT, .max = 256},
    {.name = "now", .type = BODY_BOOL},
    {.name = "labels", .type = BODY_LABELS},
    {.name = "cidrs", .type = BODY_CIDRS},
    {.name = "rate_per_second", .type = BODY_INT, .min = 1, .imax = 1000000},
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct {
        const struct body_field *f;
        size_t n;
    } shapes[] = {{fuzz_register, 3},
                  {fuzz_exchange, 5},
                  {fuzz_token_proof, 2},
                  {fuzz_introspect, 1},
                  {fuzz_admin, 7}};
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
        if (body_check(doc, shapes[i].f, shapes[i].n, why, sizeof(why)) == 0) {
            for (size_t k = 0; k < shapes[i].n; k++) {
                (void)body_str(doc, shapes[i].f[k].name);
                (void)body_int(doc, shapes[i].f[k].name, 0);
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
