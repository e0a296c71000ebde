/* sitetoken-gateway's YAML config: one schema table (gw_config.c), every
 * error as FILE:LINE: key: message, all of them at once. */
#ifndef SITETOKEN_GW_CONFIG_H
#define SITETOKEN_GW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GW_TRUSTED_MAX 16

struct gw_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int prefix;
};

struct gw_config {
    char *authority_url, *ca_file, *client_cert, *client_key, *issuer, *feed_format;
    char *listen_address;
    int64_t listen_port;
    int64_t listen_threads; /* loops; 0: one per CPU */
    char *public_origin, *audience;
    int64_t clock_skew, max_staleness, kid_cooldown; /* seconds */
    int64_t connect_timeout, request_timeout;        /* seconds */
    int64_t keys_refresh;                            /* seconds, when no Cache-Control */
    struct gw_cidr trusted[GW_TRUSTED_MAX];
    size_t ntrusted;
    int64_t enrol_refusals; /* per source address per minute */
    int64_t replay_max;
    char *log_level;
    int clock_override;
};

/* Defaults, then file (NULL: defaults only). Errors are printed to err, one a
 * line; 0 or -1. */
int gw_config_load(struct gw_config *cfg, const char *file, FILE *err);
void gw_config_free(struct gw_config *cfg);
/* 1 when the address (text) is in one of cfg->trusted. */
int gw_config_trusted(const struct gw_config *cfg, const char *addr);
/* Print the schema (name, type, default, help), for --help-config. */
void gw_config_describe(FILE *out);
/* The same schema as an mdoc tag list (the CONFIGURATION section of
 * sitetoken-gateway(8), written by gw_man.c). */
void gw_config_man(FILE *out);

#endif
