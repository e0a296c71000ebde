/* sitetoken-client: the reference device/MP client. It keeps a device key in
 * a file, makes the device's proofs of possession, and calls the MP API with
 * an MP API key or an MP client certificate, over http or https: register,
 * exchange a bulk token, renew, fetch an access token, introspect. `call`
 * then calls a gateway as RFC 9449 says: the access token (fetched, or
 * reused from the cache file while unexpired) and a fresh DPoP proof. An MP
 * integrator can read it top to bottom. Exit 0 ok, 1 refused, 2 usage,
 * 3 the authority (or the called URL) cannot be reached. */
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

#include "b64url.h"
#include "httpc.h"
#include "ids.h"
#include "jwk.h"
#include "jws.h"
#include "proof.h"

#define CLIENT_DEFAULT_URL "http://127.0.0.1:8080"
#define CLIENT_ACCESS_MARGIN 60 /* seconds: a cached access token closer to exp is not reused */

enum {
    CLIENT_EXIT_OK = 0,
    CLIENT_EXIT_REFUSED = 1,
    CLIENT_EXIT_USAGE = 2,
    CLIENT_EXIT_UNREACHABLE = 3,
};

struct client {
    struct httpc_target target; /* the authority: base URL, TLS files, timeout */
    char base_url[4400];
    const char *mp_key;
    const char *key_file;
    const char *token_file;
    const char *access_file;
    const char *issuer;
    const char *hardware_id, *name;
    const char *data; /* call: the request body */
    enum jwk_alg alg;
    EVP_PKEY *key;
    long long clock_offset; /* seconds added to proof iat (a server's debug clock) */
};

static void
usage(FILE *out)
{
    fprintf(out,
            "usage: sitetoken-client [options] COMMAND\n"
            "commands:\n"
            "  register              register this device (internal network)\n"
            "  exchange BULK_TOKEN   exchange a bulk registration token\n"
            "  renew                 renew the stored client token\n"
            "  access                get an access token for the stored client token\n"
            "  introspect [TOKEN]    ask whether a token (default: the stored one) is good\n"
            "  call METHOD URL       call URL (a gateway) with an access token and a DPoP\n"
            "                        proof; prints the status line and the body\n"
            "options:\n"
            "  --url URL             sitetokend, http:// or https:// (default " CLIENT_DEFAULT_URL
            ")\n"
            "  --ca-file FILE        CA certificates to trust for https (default: the system's)\n"
            "  --cert FILE           MP client certificate (PEM) for https, instead of a key\n"
            "  --cert-key FILE       its private key (default: in --cert)\n"
            "  --timeout SEC         longest a request may take (default 10)\n"
            "  --mp-key KEY          MP API key (default: $SITETOKEN_MP_KEY)\n"
            "  --key FILE            device key, made if missing (default device.key)\n"
            "  --alg ALG             algorithm of a new device key: EdDSA, ES256, RS256\n"
            "  --token-file FILE     where the client token is kept (default device.token)\n"
            "  --access-file FILE    where call keeps its access token (default device.access)\n"
            "  --data BODY           call: send BODY (as application/json)\n"
            "  --issuer ISS          the authority's issuer (default urn:sitetoken:PS1)\n"
            "  --hardware-id ID      reported hardware id (default: this host's machine id)\n"
            "  --name NAME           reported device name (default: this host's name)\n"
            "  --clock-offset SEC    shift proof times (testing against a debug clock)\n"
            "exit: 0 ok, 1 refused, 2 usage, 3 cannot reach the server\n");
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

/* The RFC 9449 DPoP proof for method on htu, bound to access_token (ath). */
static char *
client_dpop(struct client *c, const char *method, const char *htu, const char *access_token)
{
    json_t *header, *claims;
    char jti[IDS_JTI_LEN + 1], ath[JWK_THUMBPRINT_LEN + 1];
    char *proof = NULL;

    if (proof_ath(access_token, strlen(access_token), ath) == -1)
        return NULL;
    ids_jti(jti);
    header = json_pack("{s:s, s:s, s:o}", "typ", "dpop+jwt", "alg", jwk_alg_name(c->alg), "jwk",
                       jwk_public_to_json(c->key, NULL));
    claims = json_pack("{s:s, s:s, s:s, s:I, s:s}", "jti", jti, "htm", method, "htu", htu, "iat",
                       (json_int_t)(time(NULL) + c->clock_offset), "ath", ath);
    if (header != NULL && claims != NULL)
        proof = jws_sign(c->key, c->alg, header, claims);
    json_decref(header);
    json_decref(claims);
    return proof;
}

/* Prints a refusal: the problem document's code and detail. */
static void
client_print_refusal(const struct httpc_response *resp, const json_t *doc)
{
    const char *code = doc ? json_string_value(json_object_get(doc, "code")) : NULL;
    const char *detail = doc ? json_string_value(json_object_get(doc, "detail")) : NULL;

    fprintf(stderr, "%s: %s\n", code ? code : "error", detail ? detail : resp->body);
}

/* POSTs body (consumed) to the MP API path with the MP's credential. On 0,
 * *out is the answer's document (caller frees); otherwise the refusal or
 * the transport failure is reported and the exit code returned. */
static int
client_send(struct client *c, const char *path, json_t *body, json_t **out)
{
    struct httpc_response resp;
    char auth[256], *text = json_dumps(body, JSON_COMPACT);
    const char *headers[2] = {NULL, NULL}, *errstr = NULL;
    json_t *doc;
    int rc = CLIENT_EXIT_REFUSED;

    json_decref(body);
    if (text == NULL)
        return CLIENT_EXIT_REFUSED;
    if (c->mp_key != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->mp_key);
        headers[0] = auth;
    }
    if (httpc_request(&c->target, "POST", path, headers, text, strlen(text), &resp, &errstr) ==
        -1) {
        fprintf(stderr, "sitetoken-client: cannot reach %s: %s\n", c->base_url, errstr);
        rc = resp.fail == HTTPC_FAIL_USAGE ? CLIENT_EXIT_USAGE : CLIENT_EXIT_UNREACHABLE;
        free(text);
        httpc_response_free(&resp);
        return rc;
    }
    free(text);
    doc = json_loadb(resp.body, resp.body_len, 0, NULL);
    if (resp.status >= 400 || doc == NULL) {
        client_print_refusal(&resp, doc);
        json_decref(doc);
        goto done;
    }
    *out = doc;
    rc = CLIENT_EXIT_OK;
done:
    httpc_response_free(&resp);
    return rc;
}

/* client_send, then print the answer and keep a new client token. */
static int
client_post(struct client *c, const char *path, json_t *body)
{
    json_t *doc = NULL;
    const char *token;
    char *text;
    int rc = client_send(c, path, body, &doc);

    if (rc != CLIENT_EXIT_OK)
        return rc;
    token = json_string_value(json_object_get(doc, "token"));
    if (token != NULL && client_save_token(c->token_file, token) == -1) {
        json_decref(doc);
        return CLIENT_EXIT_REFUSED;
    }
    text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", text);
    free(text);
    json_decref(doc);
    return CLIENT_EXIT_OK;
}

/* The exp claim of a JWT, read without verifying it (the client only
 * decides whether to reuse its own token); -1 when unreadable. */
static long long
client_jwt_exp(const char *jwt)
{
    const char *a = strchr(jwt, '.'), *b = a != NULL ? strchr(a + 1, '.') : NULL;
    uint8_t *raw = NULL;
    size_t len = 0;
    json_t *claims;
    long long exp = -1;

    if (b == NULL || b - a - 1 > 16384 || b64url_decode(a + 1, (size_t)(b - a - 1), &raw, &len))
        return -1;
    if ((claims = json_loadb((const char *)raw, len, 0, NULL)) != NULL &&
        json_is_integer(json_object_get(claims, "exp")))
        exp = json_integer_value(json_object_get(claims, "exp"));
    json_decref(claims);
    free(raw);
    return exp;
}

/* The cached access token when it was made for this client token and is
 * not about to expire; malloc'd, or NULL. Cache: {"access_token",
 * "client_ath"} (ath of the client token), mode 0600. */
static char *
client_cached_access(struct client *c, const char *ath)
{
    json_t *doc = json_load_file(c->access_file, 0, NULL);
    const char *at = json_string_value(json_object_get(doc, "access_token"));
    const char *for_ath = json_string_value(json_object_get(doc, "client_ath"));
    char *out = NULL;

    if (at != NULL && for_ath != NULL && strcmp(for_ath, ath) == 0 &&
        client_jwt_exp(at) > (long long)time(NULL) + c->clock_offset + CLIENT_ACCESS_MARGIN)
        out = strdup(at);
    json_decref(doc);
    return out;
}

static void
client_cache_access(struct client *c, const char *ath, const char *access_token)
{
    json_t *doc = json_pack("{s:s, s:s}", "access_token", access_token, "client_ath", ath);
    int fd = open(c->access_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *f = fd != -1 ? fdopen(fd, "w") : NULL;
    int ok = f != NULL && doc != NULL && json_dumpf(doc, f, JSON_COMPACT) == 0;

    if (f != NULL) {
        if (fclose(f) != 0)
            ok = 0;
    } else if (fd != -1) {
        close(fd);
    }
    if (!ok)
        fprintf(stderr, "sitetoken-client: cannot write %s (the token is not cached)\n",
                c->access_file);
    json_decref(doc);
}

/* An access token for the stored client token: the cached one, or a new
 * one from the MP API. 0 and *out (malloc'd), or an exit code. */
static int
client_access_token(struct client *c, char **out)
{
    char ath[JWK_THUMBPRINT_LEN + 1], *proof;
    const char *token, *at;
    json_t *doc = NULL;
    int rc;

    if ((token = client_read_token(c->token_file)) == NULL)
        return CLIENT_EXIT_REFUSED;
    if (proof_ath(token, strlen(token), ath) == -1)
        return CLIENT_EXIT_REFUSED;
    if ((*out = client_cached_access(c, ath)) != NULL)
        return CLIENT_EXIT_OK;
    if ((proof = client_proof(c, "access", token)) == NULL)
        return CLIENT_EXIT_REFUSED;
    rc = client_send(c, "/v1/access-tokens",
                     json_pack("{s:s, s:s}", "token", token, "proof", proof), &doc);
    free(proof);
    if (rc != CLIENT_EXIT_OK)
        return rc;
    if ((at = json_string_value(json_object_get(doc, "access_token"))) == NULL ||
        (*out = strdup(at)) == NULL) {
        fprintf(stderr, "sitetoken-client: the answer has no access_token\n");
        json_decref(doc);
        return CLIENT_EXIT_REFUSED;
    }
    client_cache_access(c, ath, at);
    json_decref(doc);
    return CLIENT_EXIT_OK;
}

/* call METHOD URL: the access token, a fresh proof for METHOD and URL (htu
 * without query and fragment), the request; prints "HTTP status" and the
 * body. 0 for 2xx, 1 for another status, 3 when URL cannot be reached. */
static int
client_call(struct client *c, const char *method, const char *url)
{
    struct httpc_target gw = {.ca_file = c->target.ca_file, .timeout_ms = c->target.timeout_ms};
    struct httpc_response resp = {0};
    struct httpc_url u;
    const char *errstr = NULL, *headers[3];
    char *at = NULL, *proof = NULL, *auth = NULL, *dpop = NULL;
    int rc;

    if (strlen(method) == 0 || strlen(method) > 16 ||
        strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(method)) {
        fprintf(stderr, "sitetoken-client: METHOD must be an upper-case HTTP method\n");
        return CLIENT_EXIT_USAGE;
    }
    if (httpc_url_parse(url, &u, &errstr) == -1) {
        fprintf(stderr, "sitetoken-client: %s: %s\n", url, errstr);
        return CLIENT_EXIT_USAGE;
    }
    if ((rc = client_access_token(c, &at)) != CLIENT_EXIT_OK)
        return rc;
    rc = CLIENT_EXIT_REFUSED;
    if ((proof = client_dpop(c, method, u.htu, at)) == NULL ||
        asprintf(&auth, "Authorization: DPoP %s", at) < 0 ||
        asprintf(&dpop, "DPoP: %s", proof) < 0) {
        fprintf(stderr, "sitetoken-client: cannot make the DPoP proof\n");
        auth = dpop = NULL;
        goto done;
    }
    headers[0] = auth;
    headers[1] = dpop;
    headers[2] = NULL;
    if (httpc_request(&gw, method, url, headers, c->data, c->data ? strlen(c->data) : 0, &resp,
                      &errstr) == -1) {
        fprintf(stderr, "sitetoken-client: cannot reach %s: %s\n", u.origin, errstr);
        rc = resp.fail == HTTPC_FAIL_USAGE ? CLIENT_EXIT_USAGE : CLIENT_EXIT_UNREACHABLE;
        goto done;
    }
    printf("HTTP %d\n", resp.status);
    fwrite(resp.body, 1, resp.body_len, stdout);
    if (resp.body_len > 0 && resp.body[resp.body_len - 1] != '\n')
        printf("\n");
    rc = resp.status / 100 == 2 ? CLIENT_EXIT_OK : CLIENT_EXIT_REFUSED;
done:
    httpc_response_free(&resp);
    free(at);
    free(proof);
    free(auth);
    free(dpop);
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

/* --url: http or https, optionally with a path prefix (an authority behind
 * a reverse proxy), no query. */
static int
client_parse_url(struct client *c, const char *url)
{
    struct httpc_url u;
    const char *errstr;
    size_t n;

    if (httpc_url_parse(url, &u, &errstr) == -1 || strchr(u.path, '?') != NULL) {
        fprintf(stderr, "sitetoken-client: --url %s: %s\n", url,
                errstr != NULL ? errstr : "no query");
        return -1;
    }
    snprintf(c->base_url, sizeof(c->base_url), "%s", u.htu);
    n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/')
        c->base_url[--n] = '\0';
    c->target.base_url = c->base_url;
    return 0;
}

static int
client_timeout(struct client *c, const char *arg)
{
    char *end;
    double secs = strtod(arg, &end);

    if (end == arg || *end != '\0' || !(secs >= 0.001 && secs <= 86400)) {
        fprintf(stderr, "sitetoken-client: --timeout takes seconds, 0.001 to 86400\n");
        return -1;
    }
    c->target.timeout_ms = (long)(secs * 1000 + 0.5);
    return 0;
}

/* Runs cmd with its arguments; the exit code. The key is loaded. */
static int
client_run(struct client *c, const char *cmd, int argc, char **argv)
{
    const char *token;
    char *proof = NULL;
    json_t *body;
    int rc;

    if (strcmp(cmd, "register") == 0 && argc == 0) {
        proof = client_proof(c, "register", NULL);
        body = json_pack("{s:s, s:s, s:s}", "hardware_id", c->hardware_id, "name", c->name, "proof",
                         proof);
        rc = client_post(c, "/v1/registrations", body);
    } else if (strcmp(cmd, "exchange") == 0 && argc == 1) {
        proof = client_proof(c, "exchange", NULL);
        body = json_pack("{s:s, s:s, s:s, s:s}", "bulk_token", argv[0], "hardware_id",
                         c->hardware_id, "name", c->name, "proof", proof);
        rc = client_post(c, "/v1/exchanges", body);
    } else if ((strcmp(cmd, "renew") == 0 || strcmp(cmd, "access") == 0) && argc == 0) {
        if ((token = client_read_token(c->token_file)) == NULL)
            return CLIENT_EXIT_REFUSED;
        proof = client_proof(c, cmd, token);
        body = json_pack("{s:s, s:s}", "token", token, "proof", proof);
        rc = client_post(c, strcmp(cmd, "renew") == 0 ? "/v1/renewals" : "/v1/access-tokens", body);
    } else if (strcmp(cmd, "call") == 0 && argc == 2) {
        rc = client_call(c, argv[0], argv[1]);
    } else {
        usage(stderr);
        rc = CLIENT_EXIT_USAGE;
    }
    free(proof);
    return rc;
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
        {"access-file", required_argument, NULL, 'A'},
        {"issuer", required_argument, NULL, 'i'},
        {"hardware-id", required_argument, NULL, 'w'},
        {"name", required_argument, NULL, 'n'},
        {"clock-offset", required_argument, NULL, 'o'},
        {"ca-file", required_argument, NULL, 'C'},
        {"cert", required_argument, NULL, 'c'},
        {"cert-key", required_argument, NULL, 'K'},
        {"timeout", required_argument, NULL, 'T'},
        {"data", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct client c = {.key_file = "device.key",
                       .token_file = "device.token",
                       .access_file = "device.access",
                       .issuer = "urn:sitetoken:PS1",
                       .mp_key = getenv("SITETOKEN_MP_KEY"),
                       .alg = JWK_ALG_EDDSA,
                       .target = {.timeout_ms = HTTPC_DEFAULT_TIMEOUT_MS}};
    const char *cmd, *token;
    int ch, rc;

    if (client_parse_url(&c, CLIENT_DEFAULT_URL) == -1)
        return CLIENT_EXIT_USAGE;
    if (c.mp_key != NULL && *c.mp_key == '\0')
        c.mp_key = NULL;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'u':
            if (client_parse_url(&c, optarg) == -1)
                return CLIENT_EXIT_USAGE;
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
                return CLIENT_EXIT_USAGE;
            }
            break;
        case 't':
            c.token_file = optarg;
            break;
        case 'A':
            c.access_file = optarg;
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
        case 'C':
            c.target.ca_file = optarg;
            break;
        case 'c':
            c.target.cert_file = optarg;
            break;
        case 'K':
            c.target.key_file = optarg;
            break;
        case 'T':
            if (client_timeout(&c, optarg) == -1)
                return CLIENT_EXIT_USAGE;
            break;
        case 'd':
            c.data = optarg;
            break;
        case 'h':
            usage(stdout);
            return CLIENT_EXIT_OK;
        case 'V':
            printf("sitetoken-client %s\n", SITETOKEN_VERSION);
            return CLIENT_EXIT_OK;
        default:
            usage(stderr);
            return CLIENT_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return CLIENT_EXIT_USAGE;
    }
    cmd = argv[optind];
    if (c.target.key_file != NULL && c.target.cert_file == NULL) {
        fprintf(stderr, "sitetoken-client: --cert-key needs --cert\n");
        return CLIENT_EXIT_USAGE;
    }
    if ((c.mp_key == NULL && c.target.cert_file == NULL) ||
        (c.mp_key != NULL && strlen(c.mp_key) > 128)) {
        fprintf(stderr, "sitetoken-client: an MP credential is needed (--mp-key, "
                        "$SITETOKEN_MP_KEY or --cert)\n");
        return CLIENT_EXIT_USAGE;
    }
    client_defaults(&c);
    if (strcmp(cmd, "introspect") == 0 && optind + 2 >= argc) {
        token = optind + 1 < argc ? argv[optind + 1] : client_read_token(c.token_file);
        if (token == NULL)
            return CLIENT_EXIT_REFUSED;
        return client_post(&c, "/v1/introspect", json_pack("{s:s}", "token", token));
    }
    if (client_load_key(&c) == -1)
        return CLIENT_EXIT_REFUSED;
    rc = client_run(&c, cmd, argc - optind - 1, argv + optind + 1);
    EVP_PKEY_free(c.key);
    return rc;
}
