/* libFuzzer target for the YAML config loader (server/config*.c): arbitrary bytes must load or
 * be refused with errors, never crash, leak or trip ASan/UBSan. Also checks that a duration
 * the parser accepts formats back to the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static void
check_duration(const uint8_t *data, size_t size)
{
    char s[64], back[64];
    int64_t ms, ms2;
    const char *err;

    if (size >= sizeof(s))
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    if (config_parse_duration(s, &ms, &err) != 0)
        return;
    config_format_duration(ms, back, sizeof(back));
    if (config_parse_duration(back, &ms2, &err) != 0 || ms2 != ms)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config cfg;
    struct config_errors *errs = config_errors_new();
    size_t total = 0;

    if (errs == NULL)
        return 0;
    if (config_load_string(&cfg, "fuzz.yaml", (const char *)data, size, errs) == 0) {
        /* what a successful load promises */
        if (config_errors_count(errs) != 0 || cfg.nlisten < 1 || cfg.nlisten > CONFIG_MAX_LISTEN ||
            cfg.issuer == NULL || cfg.admin_socket == NULL || cfg.database == NULL)
            abort();
        for (size_t i = 0; i < cfg.nlisten; i++)
            if (cfg.listen[i].address == NULL || cfg.listen[i].port < 0 ||
                cfg.listen[i].port > 65535)
                abort();
    } else if (config_errors_count(errs) == 0 || cfg.site_code != NULL) {
        abort(); /* a failure always says why, and leaves nothing behind */
    }
    for (size_t i = 0; i < config_errors_count(errs); i++)
        total += strlen(config_errors_get(errs, i));
    (void)total;
    config_free(&cfg);
    config_errors_free(errs);
    check_duration(data, size);
    return 0;
}
