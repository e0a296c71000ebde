/* The console's relay to the admin socket (see console_relay.h). One thread
 * per call: a console has one administrator, so calls are few, and a thread
 * keeps a slow `audit verify` from stalling the page's other requests. The
 * thread owns its job until it hands it to the loop with event_base_once;
 * from then on only the loop touches it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "console_relay.h"

#define RELAY_BODY_MAX (8 * 1024 * 1024) /* admin answers are paged: far below this */
#define RELAY_TIMEOUT_S 60

struct relay_job {
    struct event_base *base;
    char *socket_path, *method, *url, *body;
    size_t body_len;
    void (*done)(struct console_relay_result *r, void *arg);
    void *arg;
    struct console_relay_result r;
    size_t cap;
};

static size_t
relay_write_cb(char *data, size_t size, size_t n, void *arg)
{
    struct relay_job *j = arg;
    size_t len = size * n;

    if (j->r.body_len + len > RELAY_BODY_MAX)
        return 0; /* curl fails the transfer */
    if (j->r.body_len + len + 1 > j->cap) {
        size_t cap = (j->r.body_len + len + 1) * 2;
        char *p = realloc(j->r.body, cap);

        if (p == NULL)
            return 0;
        j->r.body = p;
        j->cap = cap;
    }
    memcpy(j->r.body + j->r.body_len, data, len);
    j->r.body_len += len;
    j->r.body[j->r.body_len] = '\0';
    return len;
}

static void
relay_free(struct relay_job *j)
{
    free(j->socket_path);
    free(j->method);
    free(j->url);
    free(j->body);
    free(j->r.body);
    free(j);
}

static void
relay_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct relay_job *j = arg;

    (void)fd;
    (void)what;
    j->done(&j->r, j->arg);
    relay_free(j);
}

static void
relay_perform(struct relay_job *j)
{
    struct curl_slist *headers = NULL;
    CURL *c = curl_easy_init();
    char *ct = NULL;
    long status = 0;
    CURLcode rc;

    if (c == NULL) {
        snprintf(j->r.error, sizeof(j->r.error), "curl: cannot start");
        return;
    }
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, j->socket_path);
    curl_easy_setopt(c, CURLOPT_URL, j->url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, j->method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)RELAY_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, relay_write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, j);
    if (j->body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, j->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)j->body_len);
    } else if (strcmp(j->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    }
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        snprintf(j->r.error, sizeof(j->r.error), "admin socket %s: %s", j->socket_path,
                 curl_easy_strerror(rc));
        free(j->r.body);
        j->r.body = NULL;
        j->r.body_len = 0;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        j->r.status = (int)status;
        snprintf(j->r.ctype, sizeof(j->r.ctype), "%s", ct != NULL ? ct : "application/json");
        if (j->r.body == NULL && (j->r.body = calloc(1, 1)) == NULL)
            j->r.status = 0;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
}

static void *
relay_thread(void *arg)
{
    struct relay_job *j = arg;
    static const struct timeval now = {0, 0};

    relay_perform(j);
    if (event_base_once(j->base, -1, EV_TIMEOUT, relay_done_cb, j, &now) == -1)
        relay_free(j); /* the loop is gone: nobody to answer */
    return NULL;
}

int
console_relay_start(struct event_base *base, const char *socket_path, const char *method,
                    const char *path, const char *body, size_t body_len,
                    void (*done)(struct console_relay_result *r, void *arg), void *arg)
{
    struct relay_job *j = calloc(1, sizeof(*j));
    pthread_attr_t attr;
    pthread_t tid;
    size_t ulen = strlen(path) + sizeof("http://localhost");
    int rc;

    if (j == NULL)
        return -1;
    j->base = base;
    j->done = done;
    j->arg = arg;
    j->socket_path = strdup(socket_path);
    j->method = strdup(method);
    j->url = malloc(ulen);
    if (j->url != NULL)
        snprintf(j->url, ulen, "http://localhost%s", path);
    if (body != NULL && (j->body = malloc(body_len + 1)) != NULL) {
        memcpy(j->body, body, body_len);
        j->body[body_len] = '\0';
        j->body_len = body_len;
    }
    if (j->socket_path == NULL || j->method == NULL || j->url == NULL ||
        (body != NULL && j->body == NULL)) {
        relay_free(j);
        return -1;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&tid, &attr, relay_thread, j);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        relay_free(j);
        return -1;
    }
    return 0;
}
