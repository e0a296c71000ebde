/* sitetoken-client: the reference device/MP client. It keeps a device key in
 * a file, makes the device's proofs of possession, and calls the MP API with
 * an MP API key: register, exchange a bulk token, renew, fetch an access
 * token, introspect. An MP integrator can read it top to bottom. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>

#include "httpc.h"
#include "ids.h"
#include "jwk.h"
#include "jws.h"
#include "proof.h"

struct client {
    struct httpc_target target;
    const char *mp_key;
    const char *key_file;
    const char *token_file;
    const char *issuer;
    const char *hardware_id, *name;
    enum jwk_alg alg;
    EVP_PKEY *key;
    long long clock_offset; /* seconds added to proof iat (a server's debug clock) */
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: sitetoken-client [options] COMMAND\n"
                 "commands:\n"
                 "  register              register this device (internal network)\n"
                 "  exchange BULK_TOKEN   exchange a bulk registration token\n"
                 "  renew                 renew the stored client token\n"
                 "  access                get an access token for the stored client token\n"
                 "  introspect [TOKEN]    ask whether a token (default: the stored one) is good\n"
                 "options:\n"
                 "  --url URL             sitetokend (default http://127.0.0.1:8080)\n"
                 "  --mp-key KEY          MP API key (default: $SITETOKEN_MP_KEY)\n"
                 "  --key FILE            device key, made if missing (default device.key)\n"
                 "  --alg ALG             algorithm of a new device key: EdDSA, ES256, RS256\n"
                 "  --token-file FILE     where the client token is kept (default device.token)\n"
                 "  --issuer ISS          the authority's issuer (default urn:sitetoken:PS1)\n"
                 "  --hardware-id ID      reported hardware id (default: this host's machine id)\n"
                 "  --name NAME           reported device name (default: this host's name)\n"
                 "  --clock-offset SEC    shift proof times (testing against a debug clock)\n");
}

/* Loads the device key, or makes one (mode 0600) when the file is missing. */
static int
client_load_key(struct client *c)
{
    FILE *f = fopen(c->key_file, "r");
    int fd;

    if (f != NULL) {
        c->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        if (c->key == NULL || jwk_alg_of_key(c->key, &c->alg) == -1) {
            fprintf(stderr, "sitetoken-client: %s: not a usable private key\n", c->key_file);
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT) {
        fprintf(stderr, "sitetoken-client: %s: %s\n", c->key_file, strerror(errno));
        return -1;
    }
    if ((c->key = jwk_generate(c->alg, NULL)) == NULL ||
        (fd = open(c->key_file, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
        (f = fdopen(fd, "w")) == NULL) {
        fprintf(stderr, "sitetoken-client: cannot create %s\n", c->key_file);
        return -1;
    }
    if (PEM_write_PrivateKey(f, c->key, NULL, NULL, 0, NULL, NULL) != 1) {
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

/* The device's proof for act (and ath when a token is presented). */
static char *
client_proof(struct client *c, const char *act, const char *token)
{
    json_t *header, *claims;
    char jti[IDS_JTI_LEN + 1], ath[JWK_THUMBPRINT_LEN + 1];
    char *proof;

    ids_jti(jti);
    header = json_pack("{s:s, s:s, s:o}", "typ", "sitetoken-proof+jwt", "alg", jwk_alg_name(c->alg),
                       "jwk", jwk_public_to_json(c->key, NULL));
    claims = json_pack("{s:s, s:I, s:s, s:s}", "aud", c->issuer, "iat",
                       (json_int_t)(time(NULL) + c->clock_offset), "jti", jti, "act", act);
    if (token != NULL && proof_ath(token, strlen(token), ath) == 0)
        json_object_set_new(claims, "ath", json_string(ath));
    proof = jws_sign(c->key, c->alg, header, claims);
    json_decref(header);
    json_decref(claims);
    return proof;
}

static char *
client_read_token(const char *path)
{
    static char buf[9000];
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL) {
        fprintf(stderr, "sitetoken-client: %s: %s (register or exchange first)\n", path,
                strerror(errno));
        return NULL;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    return buf;
}

static int
client_save_token(const char *path, const char *token)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *f = fd != -1 ? fdopen(fd, "w") : NULL;

    if (f == NULL) {
        fprintf(stderr, "sitetoken-client: cannot write %s\n", path);
        return -1;
    }
    fprintf(f, "%s\n", token);
    return fclose(f) == 0 ? 0 : -1;
}

/* POSTs body to path with the MP key; prints the answer; saves a new client
 * token. 0, or 1 when the server refused (its code on stderr). */
static int
client_post(struct client *c, const char *path, json_t *body)
{
    struct httpc_response resp;
    char auth[256], *text = json_dumps(body, JSON_COMPACT);
    const char *errstr = NULL;
    json_t *doc;
    int rc = 1;

    json_decref(body);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", c->mp_key);
    if (httpc_request(&c->target, "POST", path, auth, text, strlen(text), &resp, &errstr) == -1) {
        fprintf(stderr, "sitetoken-client: %s\n", errstr);
        free(text);
        return 1;
    }
    free(text);
    doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    if (resp.status >= 400 || doc == NULL) {
        const char *code = doc ? json_string_value(json_object_get(doc, "code")) : NULL;
        const char *detail = doc ? json_string_value(json_object_get(doc, "detail")) : NULL;

        fprintf(stderr, "%s: %s\n", code ? code : "error", detail ? detail : resp.body);
        goto done;
    }
    if (json_string_value(json_object_get(doc, "token")) != NULL &&
        client_save_token(c->token_file, json_string_value(json_object_get(doc, "token"))) == -1)
        goto done;
    text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    free(text);
    rc = 0;
done:
    json_decref(doc);
    httpc_response_free(&resp);
    return rc;
}

static void
client_defaults(struct client *c)
{
    static char host[256], machine[128];
    FILE *f;

    if (c->name == NULL) {
        if (gethostname(host, sizeof(host) - 1) != 0)
            snprintf(host, sizeof(host), "device");
        c->name = host;
    }
    if (c->hardware_id == NULL) {
        snprintf(machine, sizeof(machine), "unknown");
        if ((f = fopen("/etc/machine-id", "r")) != NULL) {
            if (fgets(machine, sizeof(machine), f) != NULL)
                machine[strcspn(machine, "\n")] = '\0';
            fclose(f);
        }
        c->hardware_id = machine;
    }
}

static int
client_parse_url(struct client *c, const char *url)
{
    static char host[256];
    const char *p;

    if (strncmp(url, "http://", 7) != 0)
        return -1;
    url += 7;
    p = strrchr(url, ':');
    if (p == NULL || (size_t)(p - url) >= sizeof(host))
        return -1;
    memcpy(host, url, (size_t)(p - url));
    host[p - url] = '\0';
    c->target.host = host;
    c->target.port = atoi(p + 1);
    return c->target.port > 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},
        {"mp-key", required_argument, NULL, 'm'},
        {"key", required_argument, NULL, 'k'},
        {"alg", required_argument, NULL, 'a'},
        {"token-file", required_argument, NULL, 't'},
        {"issuer", required_argument, NULL, 'i'},
        {"hardware-id", required_argument, NULL, 'w'},
        {"name", required_argument, NULL, 'n'},
        {"clock-offset", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct client c = {.key_file = "device.key",
                       .token_file = "device.token",
                       .issuer = "urn:sitetoken:PS1",
                       .mp_key = getenv("SITETOKEN_MP_KEY"),
                       .alg = JWK_ALG_EDDSA};
    const char *cmd, *token;
    char *proof;
    json_t *body;
    int ch, rc;

    if (client_parse_url(&c, "http://127.0.0.1:8080") == -1)
        return 2;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'u':
            if (client_parse_url(&c, optarg) == -1) {
                fprintf(stderr, "sitetoken-client: --url must be http://HOST:PORT\n");
                return 2;
            }
            break;
        case 'm':
            c.mp_key = optarg;
            break;
        case 'k':
            c.key_file = optarg;
            break;
        case 'a':
            if (jwk_alg_from_name(optarg, &c.alg) == -1) {
                fprintf(stderr, "sitetoken-client: --alg must be EdDSA, ES256 or RS256\n");
                return 2;
            }
            break;
        case 't':
            c.token_file = optarg;
            break;
        case 'i':
            c.issuer = optarg;
            break;
        case 'w':
            c.hardware_id = optarg;
            break;
        case 'n':
            c.name = optarg;
            break;
        case 'o':
            c.clock_offset = strtoll(optarg, NULL, 10);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("sitetoken-client %s\n", SITETOKEN_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    cmd = argv[optind];
    if (c.mp_key == NULL || strlen(c.mp_key) > 128) {
        fprintf(stderr, "sitetoken-client: an MP API key is needed (--mp-key or "
                        "$SITETOKEN_MP_KEY)\n");
        return 2;
    }
    client_defaults(&c);
    if (strcmp(cmd, "introspect") == 0) {
        token = optind + 1 < argc ? argv[optind + 1] : client_read_token(c.token_file);
        if (token == NULL)
            return 1;
        return client_post(&c, "/v1/introspect", json_pack("{s:s}", "token", token));
    }
    if (client_load_key(&c) == -1)
        return 1;
    if (strcmp(cmd, "register") == 0 && optind + 1 == argc) {
        proof = client_proof(&c, "register", NULL);
        body = json_pack("{s:s, s:s, s:s}", "hardware_id", c.hardware_id, "name", c.name, "proof",
                         proof);
        rc = client_post(&c, "/v1/registrations", body);
    } else if (strcmp(cmd, "exchange") == 0 && optind + 2 == argc) {
        proof = client_proof(&c, "exchange", NULL);
        body = json_pack("{s:s, s:s, s:s, s:s}", "bulk_token", argv[optind + 1], "hardware_id",
                         c.hardware_id, "name", c.name, "proof", proof);
        rc = client_post(&c, "/v1/exchanges", body);
    } else if ((strcmp(cmd, "renew") == 0 || strcmp(cmd, "access") == 0) && optind + 1 == argc) {
        if ((token = client_read_token(c.token_file)) == NULL) {
            EVP_PKEY_free(c.key);
            return 1;
        }
        proof = client_proof(&c, cmd, token);
        body = json_pack("{s:s, s:s}", "token", token, "proof", proof);
        rc =
            client_post(&c, strcmp(cmd, "renew") == 0 ? "/v1/renewals" : "/v1/access-tokens", body);
    } else {
        usage(stderr);
        EVP_PKEY_free(c.key);
        return 2;
    }
    free(proof);
    EVP_PKEY_free(c.key);
    return rc;
}
