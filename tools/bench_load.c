/* The load generator's engine (see bench_load.h). One event loop, one
 * bufferevent a connection, one request in flight on each. Responses are
 * parsed here with just enough HTTP/1.1 for sitetokend: a status line,
 * Content-Length and Connection: close. All state lives in one struct
 * bench_run on the caller's stack. */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bench_load.h"

#define BENCH_HEAD_MAX 16384           /* longest response header block */
#define BENCH_BODY_MAX (4u << 20)      /* largest response body */
#define BENCH_CONNECT_ATTEMPTS 3       /* consecutive failures before a connection is dropped */
#define BENCH_RETRY_NS (100 * 1000000) /* wait before reconnecting after a failure */

struct bench_run;

struct bench_conn {
    struct bench_run *run;
    int url; /* index into o->addr */
    struct bufferevent *bev;
    struct event *retry;           /* reconnect timer */
    const struct bench_item *item; /* in flight; NULL when idle */
    uint64_t t_start;              /* ns: when sent (closed loop) or due (open loop) */
    size_t head_len;               /* of the response being read; 0 until its head is in */
    size_t body_len;
    int status;
    int close_after; /* the server said Connection: close */
    int connected;
    int failures; /* consecutive failed connects */
    int idle;     /* on the open loop's idle stack */
    int dropped;
};

struct bench_run {
    const struct bench_load_opts *o;
    struct bench_load_result *r;
    struct event_base *base;
    struct event *deadline_ev, *tick_ev;
    struct bench_conn *conns;
    struct bench_conn **idle; /* open loop: stack of connections with nothing in flight */
    int nidle;
    int nconn, alive, nready; /* nready: connected or failed before the start */
    int started, stopping;
    size_t next; /* next index into o->seq */
    uint64_t inflight;
    uint64_t sched; /* open loop: index of the next request to become due */
    uint64_t t0, t_measure, t_last;
};

static uint64_t
bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct timeval
bench_tv(uint64_t ns)
{
    return (struct timeval){.tv_sec = (time_t)(ns / 1000000000u),
                            .tv_usec = (suseconds_t)(ns % 1000000000u / 1000u)};
}

int
bench_load_resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len,
                   const char **errstr)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    char service[16];
    int gai;

    snprintf(service, sizeof(service), "%d", port);
    if ((gai = getaddrinfo(host, service, &hints, &res)) != 0) {
        *errstr = gai_strerror(gai);
        return -1;
    }
    if (res->ai_addrlen > sizeof(*ss)) {
        freeaddrinfo(res);
        *errstr = "address too long";
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

void
bench_errors_add(struct bench_errors *e, const char *code, uint64_t n)
{
    size_t i;

    e->total += n;
    for (i = 0; i < e->n; i++) {
        if (strcmp(e->e[i].code, code) == 0) {
            e->e[i].count += n;
            return;
        }
    }
    if (e->n == BENCH_ERRORS_MAX) {
        e->other += n;
        return;
    }
    snprintf(e->e[e->n].code, sizeof(e->e[e->n].code), "%s", code);
    e->e[e->n++].count = n;
}

static void bench_conn_connect(struct bench_conn *c);
static void bench_conn_broken(struct bench_conn *c, const char *code, int connect_failed);
static void bench_run_pump(struct bench_run *run);

static void
bench_run_stop(struct bench_run *run)
{
    run->stopping = 1;
    if (run->inflight == 0)
        event_base_loopbreak(run->base);
}

/* The next request to send, or NULL when the run is over. */
static const struct bench_item *
bench_run_next(struct bench_run *run)
{
    const struct bench_load_opts *o = run->o;
    const struct bench_item *it;

    if (run->stopping)
        return NULL;
    if (o->max_requests != 0 && run->r->issued >= o->max_requests) {
        bench_run_stop(run);
        return NULL;
    }
    if (!o->cyclic && run->next >= o->nseq) {
        run->r->ran_out = 1;
        bench_run_stop(run);
        return NULL;
    }
    it = o->seq[o->cyclic ? run->next % o->nseq : run->next];
    run->next++;
    run->r->issued++;
    return it;
}

static void
bench_conn_send(struct bench_conn *c, const struct bench_item *it, uint64_t t_start)
{
    c->item = it;
    c->t_start = t_start;
    c->head_len = 0;
    c->run->inflight++;
    if (bufferevent_write(c->bev, it->req, it->len) == -1)
        bench_conn_broken(c, "transport:write", 0);
}

/* c has nothing in flight and may send. */
static void
bench_conn_ready(struct bench_conn *c)
{
    struct bench_run *run = c->run;
    const struct bench_item *it;

    if (run->o->rate > 0) {
        if (!c->idle) {
            c->idle = 1;
            run->idle[run->nidle++] = c;
        }
        bench_run_pump(run);
        return;
    }
    if ((it = bench_run_next(run)) != NULL)
        bench_conn_send(c, it, bench_now());
}

/* One request is over: answered (latency known) or failed. */
static void
bench_conn_account(struct bench_conn *c, int answered, int ok, const char *code)
{
    struct bench_run *run = c->run;
    struct bench_load_result *r = run->r;
    uint64_t now = bench_now();

    if (now >= run->t_measure) {
        struct bench_url_result *u = &r->by_url[c->url];

        r->requests++;
        u->requests++;
        r->by_kind[c->item->kind]++;
        if (ok) {
            r->ok++;
            u->ok++;
        } else {
            bench_errors_add(&r->errors, code, 1);
            u->errors++;
        }
        if (answered) {
            bench_hist_record(&r->hist, now > c->t_start ? now - c->t_start : 0);
            bench_hist_record(&u->hist, now > c->t_start ? now - c->t_start : 0);
        }
        run->t_last = now;
    }
    c->item = NULL;
    run->inflight--;
}

static void
bench_conn_drop_bev(struct bench_conn *c)
{
    if (c->bev != NULL)
        bufferevent_free(c->bev);
    c->bev = NULL;
    c->connected = 0;
}

/* The connection broke (or was closed by the server): fail what was in
 * flight, then reconnect unless it keeps failing. */
static void
bench_conn_broken(struct bench_conn *c, const char *code, int connect_failed)
{
    struct bench_run *run = c->run;
    uint64_t delay = 0;

    if (c->item != NULL)
        bench_conn_account(c, 0, 0, code);
    bench_conn_drop_bev(c);
    if (connect_failed) {
        run->r->connect_failures++;
        c->failures++;
        delay = BENCH_RETRY_NS;
    }
    if (c->failures >= BENCH_CONNECT_ATTEMPTS || run->stopping) {
        if (!c->dropped && c->failures >= BENCH_CONNECT_ATTEMPTS) {
            c->dropped = 1;
            run->r->connections_lost++;
        }
        run->alive--;
        if (!run->started && ++run->nready == run->nconn)
            event_base_loopbreak(run->base);
        if (run->alive == 0)
            bench_run_stop(run);
        else if (run->stopping && run->inflight == 0)
            event_base_loopbreak(run->base);
        return;
    }
    if (delay == 0) {
        bench_conn_connect(c);
    } else {
        struct timeval tv = bench_tv(delay);

        evtimer_add(c->retry, &tv);
    }
}

static void
bench_conn_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    bench_conn_connect(arg);
}

/* Parses the head in buf (len bytes, ending in CRLF CRLF). 0, or -1 with a
 * transport error name. */
static int
bench_parse_head(struct bench_conn *c, const char *buf, size_t len, const char **why)
{
    const char *p = buf, *end = buf + len, *eol, *v;
    int have_length = 0;
    unsigned long long n;
    char *e;

    if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ') {
        *why = "transport:bad_status_line";
        return -1;
    }
    c->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    if (c->status < 100 || c->status > 599) {
        *why = "transport:bad_status_line";
        return -1;
    }
    c->body_len = 0;
    c->close_after = buf[7] == '0';
    while ((eol = memchr(p, '\n', (size_t)(end - p))) != NULL && eol + 1 < end) {
        p = eol + 1;
        if (strncasecmp(p, "content-length:", 15) == 0) {
            v = p + 15;
            while (*v == ' ' || *v == '\t')
                v++;
            errno = 0;
            n = strtoull(v, &e, 10);
            if (e == v || errno != 0 || n > BENCH_BODY_MAX) {
                *why = "transport:bad_content_length";
                return -1;
            }
            c->body_len = (size_t)n;
            have_length = 1;
        } else if (strncasecmp(p, "connection:", 11) == 0) {
            v = p + 11;
            while (*v == ' ' || *v == '\t')
                v++;
            c->close_after = strncasecmp(v, "close", 5) == 0;
        } else if (strncasecmp(p, "transfer-encoding:", 18) == 0) {
            *why = "transport:chunked_unsupported";
            return -1;
        }
    }
    if (!have_length && c->status != 204 && c->status != 304 && c->status >= 200) {
        *why = "transport:no_content_length";
        return -1;
    }
    return 0;
}

static void
bench_conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct bench_conn *c = arg;
    struct bench_run *run = c->run;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_ptr pos;
    const char *why = NULL;
    char code[64];
    unsigned char *data;
    int ok;

    if (c->item == NULL) {
        bench_conn_broken(c, "transport:unexpected_data", 0);
        return;
    }
    if (c->head_len == 0) {
        pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        if (pos.pos < 0) {
            if (evbuffer_get_length(in) > BENCH_HEAD_MAX)
                bench_conn_broken(c, "transport:header_too_large", 0);
            return;
        }
        c->head_len = (size_t)pos.pos + 4;
        if ((data = evbuffer_pullup(in, (ssize_t)c->head_len)) == NULL ||
            bench_parse_head(c, (const char *)data, c->head_len, &why) == -1) {
            bench_conn_broken(c, why != NULL ? why : "transport:out_of_memory", 0);
            return;
        }
    }
    if (evbuffer_get_length(in) < c->head_len + c->body_len)
        return;
    if ((data = evbuffer_pullup(in, (ssize_t)(c->head_len + c->body_len))) == NULL) {
        bench_conn_broken(c, "transport:out_of_memory", 0);
        return;
    }
    ok = bench_check(run->o->expect, c->item, c->status, (const char *)data + c->head_len,
                     c->body_len, code, sizeof(code)) == 0;
    evbuffer_drain(in, c->head_len + c->body_len);
    c->head_len = 0;
    bench_conn_account(c, 1, ok, code);
    if (evbuffer_get_length(in) != 0) {
        bench_conn_broken(c, "transport:unexpected_data", 0);
    } else if (c->close_after) {
        bench_conn_broken(c, "transport:closed", 0);
    } else {
        bench_conn_ready(c);
        if (run->stopping && run->inflight == 0)
            event_base_loopbreak(run->base);
    }
}

static void
bench_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct bench_conn *c = arg;
    struct bench_run *run = c->run;

    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;

        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->connected = 1;
        c->failures = 0;
        if (!run->started) {
            if (++run->nready == run->nconn)
                event_base_loopbreak(run->base);
        } else {
            bench_conn_ready(c);
        }
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && c->item == NULL) {
        bufferevent_enable(bev, EV_READ); /* an idle keep-alive connection */
        return;
    }
    if (!c->connected) {
        bench_conn_broken(c, "transport:connect", 1);
        return;
    }
    bench_conn_broken(c,
                      (what & BEV_EVENT_TIMEOUT) ? "transport:timeout"
                      : (what & BEV_EVENT_EOF)   ? "transport:eof"
                                                 : "transport:error",
                      0);
}

static void
bench_conn_connect(struct bench_conn *c)
{
    struct bench_run *run = c->run;
    struct timeval tv = bench_tv((uint64_t)(run->o->timeout * 1e9));

    c->bev = bufferevent_socket_new(run->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        bench_conn_broken(c, "transport:connect", 1);
        return;
    }
    bufferevent_setcb(c->bev, bench_conn_read_cb, NULL, bench_conn_event_cb, c);
    bufferevent_set_timeouts(c->bev, &tv, &tv);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(c->bev, (const struct sockaddr *)&run->o->addr[c->url],
                                   (int)run->o->addrlen[c->url]) == -1)
        bench_conn_broken(c, "transport:connect", 1);
}

/* Open loop: send every request that is due on the idle connections, then
 * wake up when the next one is due. */
static void
bench_run_pump(struct bench_run *run)
{
    double per = 1e9 / run->o->rate;
    uint64_t now = bench_now(), due, backlog;
    const struct bench_item *it;
    struct bench_conn *c;
    struct timeval tv;

    while (!run->stopping) {
        due = run->t0 + (uint64_t)((double)run->sched * per);
        if (due > now) {
            tv = bench_tv(due - now);
            evtimer_add(run->tick_ev, &tv);
            return;
        }
        c = NULL;
        while (run->nidle > 0 && c == NULL) {
            c = run->idle[--run->nidle];
            c->idle = 0;
            if (!c->connected || c->item != NULL)
                c = NULL;
        }
        if (c == NULL) {
            backlog = (uint64_t)((double)(now - run->t0) / per) + 1 - run->sched;
            if (backlog > run->r->backlog_max)
                run->r->backlog_max = backlog;
            return; /* an answer frees a connection and pumps again */
        }
        if ((it = bench_run_next(run)) == NULL) {
            c->idle = 1;
            run->idle[run->nidle++] = c;
            return;
        }
        bench_conn_send(c, it, due);
        run->sched++;
    }
}

static void
bench_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    bench_run_pump(arg);
}

static void
bench_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    bench_run_stop(arg);
}

static void
bench_start(struct bench_run *run)
{
    const struct bench_load_opts *o = run->o;
    struct timeval tv;
    int i;

    run->started = 1;
    run->t0 = bench_now();
    run->t_measure = run->t0 + (uint64_t)(o->warmup * 1e9);
    run->t_last = run->t_measure;
    if (o->duration > 0) {
        tv = bench_tv((uint64_t)((o->warmup + o->duration) * 1e9));
        evtimer_add(run->deadline_ev, &tv);
    }
    for (i = 0; i < run->nconn; i++)
        if (run->conns[i].connected)
            bench_conn_ready(&run->conns[i]);
}

int
bench_load_run(const struct bench_load_opts *o, struct bench_load_result *r, const char **errstr)
{
    struct bench_run run = {.o = o, .r = r, .nconn = o->connections, .alive = o->connections};
    struct event_config *cfg = event_config_new();
    int i, rc = -1, nconnected = 0;

    memset(r, 0, sizeof(*r));
    bench_hist_init(&r->hist);
    r->naddr = o->naddr > 0 ? o->naddr : 1;
    for (i = 0; i < r->naddr; i++)
        bench_hist_init(&r->by_url[i].hist);
    if (cfg != NULL)
        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    run.base = cfg != NULL ? event_base_new_with_config(cfg) : NULL;
    if (cfg != NULL)
        event_config_free(cfg);
    run.conns = calloc((size_t)run.nconn, sizeof(*run.conns));
    run.idle = calloc((size_t)run.nconn, sizeof(*run.idle));
    if (run.base == NULL || run.conns == NULL || run.idle == NULL || run.nconn < 1 ||
        o->naddr > BENCH_URLS_MAX) {
        *errstr = "out of memory";
        goto done;
    }
    run.deadline_ev = evtimer_new(run.base, bench_deadline_cb, &run);
    run.tick_ev = evtimer_new(run.base, bench_tick_cb, &run);
    for (i = 0; i < run.nconn; i++) {
        run.conns[i].run = &run;
        run.conns[i].url = i % r->naddr; /* round-robin over the servers */
        run.conns[i].retry = evtimer_new(run.base, bench_conn_retry_cb, &run.conns[i]);
    }
    /* Connect everything first: the clock starts once all are up. */
    for (i = 0; i < run.nconn; i++)
        bench_conn_connect(&run.conns[i]);
    if (run.nready < run.nconn)
        event_base_dispatch(run.base);
    for (i = 0; i < run.nconn; i++)
        nconnected += run.conns[i].connected;
    if (nconnected == 0) {
        *errstr = "no connection could be opened";
        goto done;
    }
    bench_start(&run);
    if (!run.stopping || run.inflight != 0)
        event_base_dispatch(run.base);
    r->elapsed = run.t_last > run.t_measure ? (double)(run.t_last - run.t_measure) / 1e9 : 0;
    rc = 0;
done:
    for (i = 0; run.conns != NULL && i < run.nconn; i++) {
        bench_conn_drop_bev(&run.conns[i]);
        if (run.conns[i].retry != NULL)
            event_free(run.conns[i].retry);
    }
    if (run.deadline_ev != NULL)
        event_free(run.deadline_ev);
    if (run.tick_ev != NULL)
        event_free(run.tick_ev);
    free(run.conns);
    free(run.idle);
    if (run.base != NULL)
        event_base_free(run.base);
    return rc;
}
