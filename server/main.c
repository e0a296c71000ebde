/* sitetokend: reads its configuration (or the embedded default), opens the
 * store and the seal key, binds its listeners and serves until SIGTERM/SIGINT,
 * then stops accepting, answers what is in flight, and closes the store. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/crypto.h>

#include "auth.h"
#include "bulkcache.h"
#include "bulkrate.h"
#include "committer.h"
#include "config.h"
#include "feed.h"
#include "publish.h"
#include "ops.h"
#include "http.h"
#include "log.h"
#include "maintenance.h"
#include "metrics.h"
#include "migrate.h"
#include "notify.h"
#include "routes.h"
#include "seal.h"
#include "signer.h"
#include "sitetokend.h"
#include "store.h"
#include "tls.h"
#include "workers.h"

#define SHUTDOWN_GRACE_SECONDS 10

static void
usage(FILE *out)
{
    fprintf(out, "usage: sitetokend [-n] [-c FILE]\n"
                 "       sitetokend [-c FILE] --migrate-to postgresql://USER@HOST/DB\n"
                 "       sitetokend --help-config | --version\n"
                 "  -c FILE   read the YAML configuration FILE (default: the embedded default)\n"
                 "  -n        check the configuration and exit (0 ok, 1 errors)\n"
                 "  --migrate-to URI  copy the stopped SQLite site of the configuration into the\n"
                 "            empty PostgreSQL database URI (no password in it) and exit\n");
}

/* Tells systemd (Type=notify) where the service is; a failure is logged
 * and otherwise ignored: the service serves whether or not it is heard. */
static void
main_notify(const char *state)
{
    const char *errstr = NULL;

    if (notify_send(state, &errstr) == -1)
        log_warn("event=notify state=%s error=%s", state, log_quote(errstr, (char[200]){0}, 200));
}

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct sitetokend *env = arg;
    struct timeval grace = {.tv_sec = SHUTDOWN_GRACE_SECONDS};

    if (env->shutting_down) {
        log_warn("event=shutdown signal=%d msg=\"second signal, exiting now\"", (int)sig);
        event_base_loopbreak(env->base);
        return;
    }
    env->shutting_down = 1;
    main_notify("STOPPING=1");
    log_info("event=shutdown signal=%d inflight=%d", (int)sig, http_inflight(env->http));
    http_stop_accepting(env->http);
    feed_close_all(env->feed); /* event streams never end by themselves */
    if (http_inflight(env->http) == 0)
        event_base_loopexit(env->base, NULL);
    else
        event_base_loopexit(env->base, &grace);
}

/* SIGHUP: reload the TLS certificates; connections already open keep theirs. */
static void
main_hup_cb(evutil_socket_t sig, short what, void *arg)
{
    struct sitetokend *env = arg;
    const char *errstr = NULL;

    log_info("event=reload signal=%d", (int)sig);
    if (notify_reloading(&errstr) == -1)
        log_warn("event=notify state=RELOADING=1 error=%s", log_quote(errstr, (char[200]){0}, 200));
    http_reload_tls(env->http);
    main_notify("READY=1");
}

/* The state files, in the order they are checked and handed over. */
enum main_state_file { MAIN_SF_DB, MAIN_SF_WAL, MAIN_SF_SHM, MAIN_SF_JOURNAL, MAIN_SF_COUNT };

struct main_state {
    char path[MAIN_SF_COUNT][4200];
    int fd[MAIN_SF_COUNT]; /* kept open for the process's life: closing a descriptor of a
                              file drops SQLite's POSIX locks on it */
    int nsf; /* state files of the database: MAIN_SF_COUNT for a SQLite file, else 0 */
    int lock_fd, lock_created;
    int admin_bound;
    struct passwd pw; /* cfg->user resolved before anything is created */
    char pwbuf[4096];
    int has_user;
    gid_t admin_gid; /* cfg->admin_socket_group resolved */
    int has_group;
};

static void
main_state_init(struct main_state *ms, const struct config *cfg)
{
    static const char *const suffix[MAIN_SF_COUNT] = {"", "-wal", "-shm", "-journal"};

    memset(ms, 0, sizeof(*ms));
    /* A database server (PostgreSQL) has no files here, no lock: several
     * nodes sharing it is the point. */
    ms->nsf = store_is_local_file(cfg->database) ? MAIN_SF_COUNT : 0;
    for (int i = 0; i < MAIN_SF_COUNT; i++) {
        snprintf(ms->path[i], sizeof(ms->path[i]), "%s%s", cfg->database, suffix[i]);
        ms->fd[i] = -1;
    }
    ms->lock_fd = -1;
}

/* Refuses a symbolic link where a state file goes: following it as root would
 * write to (or hand over) whatever file it names. */
static int
main_refuse_symlinks(const struct main_state *ms, const struct config *cfg, const char **errstr)
{
    static char err[600];
    char lock[4200];
    const char *paths[MAIN_SF_COUNT + 3];
    size_t n = 0;
    struct stat sb;

    for (int i = 0; i < ms->nsf; i++)
        paths[n++] = ms->path[i];
    snprintf(lock, sizeof(lock), "%s.lock", cfg->database);
    if (ms->nsf > 0)
        paths[n++] = lock;
    paths[n++] = cfg->seal_key_file;
    paths[n++] = cfg->admin_socket;
    for (size_t i = 0; i < n; i++) {
        if (lstat(paths[i], &sb) == 0 && S_ISLNK(sb.st_mode)) {
            snprintf(err, sizeof(err),
                     "%.300s is a symbolic link: state files must be the files themselves; "
                     "remove the link (and restore the real file) before starting",
                     paths[i]);
            *errstr = err;
            return -1;
        }
    }
    return 0;
}

/* Resolves cfg->user before anything is created, so an unknown user is an
 * error that leaves no state behind. */
static int
main_resolve_user(struct main_state *ms, const struct config *cfg, const char **errstr)
{
    static char err[512];
    struct passwd *pw = NULL;
    int rc;

    if (cfg->user == NULL)
        return 0;
    rc = getpwnam_r(cfg->user, &ms->pw, ms->pwbuf, sizeof(ms->pwbuf), &pw);
    if (pw == NULL) {
        snprintf(err, sizeof(err), "user %s: %s", cfg->user,
                 rc != 0 ? strerror(rc) : "no such user");
        *errstr = err;
        return -1;
    }
    if (geteuid() != 0 && geteuid() != pw->pw_uid) {
        snprintf(err, sizeof(err), "user %s: dropping privileges needs root", cfg->user);
        *errstr = err;
        return -1;
    }
    ms->has_user = 1;
    return 0;
}

/* Resolves cfg->admin_socket_group before anything is created. Without root
 * the process can give the socket only to one of its own groups (systemd:
 * the service user's groups, or SupplementaryGroups=). */
static int
main_resolve_group(struct main_state *ms, const struct config *cfg, const char **errstr)
{
    static char err[512];
    struct group gr, *grp = NULL;
    char buf[4096];
    gid_t groups[256];
    int rc, n, member;

    if (cfg->admin_socket_group == NULL)
        return 0;
    rc = getgrnam_r(cfg->admin_socket_group, &gr, buf, sizeof(buf), &grp);
    if (grp == NULL) {
        snprintf(err, sizeof(err), "admin_socket_group %s: %s", cfg->admin_socket_group,
                 rc != 0 ? strerror(rc) : "no such group");
        goto fail;
    }
    member = geteuid() == 0 || getegid() == grp->gr_gid;
    n = getgroups((int)(sizeof(groups) / sizeof(groups[0])), groups);
    for (int i = 0; i < n && !member; i++)
        member = groups[i] == grp->gr_gid;
    if (!member) {
        snprintf(err, sizeof(err),
                 "admin_socket_group %s: not a group of this process (add the service user to "
                 "it, or run as root)",
                 cfg->admin_socket_group);
        goto fail;
    }
    ms->admin_gid = grp->gr_gid;
    ms->has_group = 1;
    return 0;
fail:
    *errstr = err;
    return -1;
}

/* Once the admin socket is bound (mode 0600): gives it to the group, mode
 * 0660, never following a symbolic link planted in its place. */
static int
main_admin_socket_group(const struct main_state *ms, const struct config *cfg, const char **errstr)
{
    static char err[512];
    struct stat sb;

    if (!ms->has_group)
        return 0;
    errno = 0;
    if (lstat(cfg->admin_socket, &sb) == -1 || !S_ISSOCK(sb.st_mode) ||
        fchownat(AT_FDCWD, cfg->admin_socket, (uid_t)-1, ms->admin_gid, AT_SYMLINK_NOFOLLOW) == -1)
        goto fail;
    if (fchmodat(AT_FDCWD, cfg->admin_socket, 0660, AT_SYMLINK_NOFOLLOW) == -1 &&
        ((errno != ENOTSUP && errno != EOPNOTSUPP) || chmod(cfg->admin_socket, 0660) == -1))
        goto fail;
    return 0;
fail:
    snprintf(err, sizeof(err), "admin_socket_group %s: %.300s: %s", cfg->admin_socket_group,
             cfg->admin_socket, errno != 0 ? strerror(errno) : "not a socket: refused");
    *errstr = err;
    return -1;
}

/* Hands one state file to uid:gid through a descriptor opened without
 * following a symbolic link (and kept open: see struct main_state). */
static int
main_chown_nofollow(const char *path, int dir, uid_t uid, gid_t gid, int *keep, char *err,
                    size_t errlen)
{
    struct stat sb;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (dir ? O_DIRECTORY : 0));

    if (fd == -1 && errno == ENOENT)
        return 0;
    if (fd == -1 || fstat(fd, &sb) == -1 || (dir ? !S_ISDIR(sb.st_mode) : !S_ISREG(sb.st_mode)) ||
        fchown(fd, uid, gid) == -1) {
        snprintf(err, errlen, "chown %.300s: %s", path,
                 fd == -1 && errno == ELOOP ? "a symbolic link: refused"
                 : fd != -1 && errno == 0   ? "not a regular file: refused"
                                            : strerror(errno));
        if (fd != -1)
            close(fd);
        return -1;
    }
    if (keep != NULL)
        *keep = fd;
    else
        close(fd);
    return 0;
}

/* After the listeners are bound: hands the state (directory, database and
 * its WAL files, lock file, admin socket) to cfg->user and becomes that user
 * for good, never following a symbolic link the service account may have
 * planted. The open store connections keep working; a later start as root
 * finds the files usable. Without root there is nothing to drop. */
static int
main_drop_privileges(struct main_state *ms, const struct config *cfg, const char **errstr)
{
    static char err[512];
    const struct passwd *pw = &ms->pw;
    struct stat sb;

    if (geteuid() != 0)
        return 0; /* main_resolve_user: already that user */
    /* Not the seal key: it was read already and stays root's alone. */
    errno = 0;
    if (main_chown_nofollow(cfg->state_dir, 1, pw->pw_uid, pw->pw_gid, NULL, err, sizeof(err)) ==
        -1)
        goto fail;
    for (int i = 0; i < ms->nsf; i++) {
        errno = 0;
        if (ms->fd[i] == -1 && main_chown_nofollow(ms->path[i], 0, pw->pw_uid, pw->pw_gid,
                                                   &ms->fd[i], err, sizeof(err)) == -1)
            goto fail;
    }
    if (ms->lock_fd != -1 && fchown(ms->lock_fd, pw->pw_uid, pw->pw_gid) == -1) {
        snprintf(err, sizeof(err), "chown %s.lock: %s", cfg->database, strerror(errno));
        goto fail;
    }
    /* A socket cannot be opened: fchownat on the name, never following it. */
    if (lstat(cfg->admin_socket, &sb) == -1 || !S_ISSOCK(sb.st_mode) ||
        fchownat(AT_FDCWD, cfg->admin_socket, pw->pw_uid,
                 ms->has_group ? ms->admin_gid : pw->pw_gid, AT_SYMLINK_NOFOLLOW) == -1) {
        snprintf(err, sizeof(err), "chown %.300s: %s", cfg->admin_socket,
                 errno != 0 ? strerror(errno) : "not a socket: refused");
        goto fail;
    }
    /* glibc applies these to every thread of the process. */
    if (setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1) {
        snprintf(err, sizeof(err), "user %s: %s", cfg->user, strerror(errno));
        goto fail;
    }
    if (setuid(0) != -1 || geteuid() != pw->pw_uid) {
        snprintf(err, sizeof(err), "user %s: privileges could be regained", cfg->user);
        goto fail;
    }
    return 0;
fail:
    if (strncmp(err, "chown", 5) == 0) {
        char tmp[600];

        snprintf(tmp, sizeof(tmp), "user %s: %s", cfg->user, err);
        snprintf(err, sizeof(err), "%.500s", tmp);
    }
    *errstr = err;
    return -1;
}

/* A start that failed leaves nothing it made: the lock file it created and
 * the admin socket it bound. */
static void
main_state_release(struct main_state *ms, const struct config *cfg, int failed)
{
    for (int i = 0; i < MAIN_SF_COUNT; i++)
        if (ms->fd[i] != -1)
            close(ms->fd[i]);
    if (failed && ms->admin_bound)
        unlink(cfg->admin_socket);
    store_unlock(cfg->database, ms->lock_fd, failed && ms->lock_created);
}

/* With a database that holds sealed keys, the seal key file must exist (a
 * new one would not unseal them): say what to restore instead of making one. */
static int
main_check_seal_key(const struct config *cfg, const char **errstr)
{
    static char err[900];
    struct stat sb;
    int64_t nkeys = 0;

    if (store_peek_keys(cfg->database, &nkeys, errstr) == -1)
        return -1;
    if (nkeys == 0 || lstat(cfg->seal_key_file, &sb) == 0 || errno != ENOENT)
        return 0;
    snprintf(err, sizeof(err),
             "seal key file %.300s is missing but database %.300s holds %lld sealed signing "
             "key(s): restore the seal key file backed up with this database (a new one would "
             "not unseal them); nothing was created",
             cfg->seal_key_file, cfg->database, (long long)nkeys);
    *errstr = err;
    return -1;
}

/* sitetokend --migrate-to URI: moves the stopped SQLite site the config names
 * into an empty PostgreSQL database (store/migrate.c) and exits, without
 * starting the server. 0, or 1 with the reason on stderr. */
static int
main_migrate(const struct config *cfg, const char *target)
{
    struct store_migrate_result res;
    const char *errstr = NULL;
    char summary[1024];

    store_set_password_file(cfg->database_password_file);
    if (main_check_seal_key(cfg, &errstr) == -1 ||
        store_migrate_site(cfg->database, target, (int)cfg->busy_timeout_ms, &res, &errstr) == -1) {
        fprintf(stderr, "sitetokend: --migrate-to: %s\n", errstr);
        return 1;
    }
    store_migrate_summary(&res, cfg->database, target, summary, sizeof(summary));
    printf("%s\n", summary);
    return 0;
}

/* Descriptors kept aside for everything that is not a client connection:
 * listeners, the store's files, worker notify pipes, the admin socket and
 * connections accepted in one burst before the limit closes them. */
#define MAIN_FD_RESERVE 256

/* Raises the soft RLIMIT_NOFILE so that max_connections can all be open at
 * once. When the hard limit is too low, lowers max_connections instead (and
 * says so): running out of descriptors would make accept() fail on every
 * loop turn rather than refuse connections one by one. */
static void
main_raise_nofile(struct config *cfg)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)cfg->max_connections + (rlim_t)cfg->max_streams + MAIN_FD_RESERVE;
    int64_t fit;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        return;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        fit = (int64_t)rl.rlim_cur - MAIN_FD_RESERVE;
        if (fit < 32)
            fit = 32;
        /* event streams have their own budget beside the connections' */
        if (cfg->max_streams > fit / 4)
            cfg->max_streams = fit / 4;
        fit -= cfg->max_streams;
        log_warn("event=start msg=\"open file limit too low\" nofile=%llu max_connections=%lld "
                 "lowered_to=%lld max_streams=%lld",
                 (unsigned long long)rl.rlim_cur, (long long)cfg->max_connections, (long long)fit,
                 (long long)cfg->max_streams);
        cfg->max_connections = fit;
    }
}

/* Makes the state directory (mode 0700) when it does not exist yet. */
static int
main_make_state_dir(const char *dir, const char **errstr)
{
    static char err[512];
    char path[4096];

    if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
        *errstr = "state_dir: path too long";
        return -1;
    }
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) == -1 && errno != EEXIST)
            goto fail;
        *p = '/';
    }
    if (mkdir(path, 0700) == -1 && errno != EEXIST)
        goto fail;
    return 0;
fail:
    snprintf(err, sizeof(err), "state_dir %.300s: %s", path, strerror(errno));
    *errstr = err;
    return -1;
}

/* sitetokend -n: a TLS listener's files load and parse as start-up loads them. */
static int
main_tls_check(const char *certificate, const char *key, const char *client_ca, const char **why)
{
    struct tls *t = tls_new(certificate, key, client_ca, why);

    if (t == NULL)
        return -1;
    tls_free(t);
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"help-config", no_argument, NULL, 'H'},
        {"version", no_argument, NULL, 'V'},
        {"migrate-to", required_argument, NULL, 'M'},
        {NULL, 0, NULL, 0},
    };
    struct sitetokend env_storage, *env = &env_storage;
    struct config cfg;
    struct config_errors *errs;
    struct event *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL;
    struct maintenance *maint = NULL;
    struct signer_policy policy;
    struct main_state ms;
    const char *config_path = NULL, *errstr = NULL, *migrate_to = NULL;
    int check_only = 0, ch, created = 0, rc = 1;

    while ((ch = getopt_long(argc, argv, "c:nhV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config_path = optarg;
            break;
        case 'n':
            check_only = 1;
            break;
        case 'M':
            migrate_to = optarg;
            break;
        case 'H':
            config_print_schema(stdout);
            return 0;
        case 'V':
            printf("sitetokend %s\n", SITETOKEN_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || (migrate_to != NULL && check_only)) {
        usage(stderr);
        return 2;
    }

    memset(env, 0, sizeof(*env));
    memset(&cfg, 0, sizeof(cfg));
    memset(&ms, 0, sizeof(ms));
    ms.lock_fd = -1;
    for (int i = 0; i < MAIN_SF_COUNT; i++)
        ms.fd[i] = -1;
    if ((errs = config_errors_new()) == NULL)
        return 1;
    if (config_path == NULL) {
        config_defaults(&cfg);
    } else if ((check_only ? config_check(&cfg, config_path, errs, main_tls_check)
                           : config_load(&cfg, config_path, errs)) == -1) {
        config_errors_print(errs, stderr);
        config_errors_free(errs);
        config_free(&cfg);
        return 1;
    }
    config_errors_free(errs);
    if (migrate_to != NULL) {
        rc = main_migrate(&cfg, migrate_to);
        config_free(&cfg);
        return rc;
    }
    if (check_only) {
        fprintf(stderr, "%s: configuration OK\n", cfg.source);
        config_free(&cfg);
        return 0;
    }

    log_init((enum log_level)cfg.log_level);
    log_set_format((enum log_format)cfg.log_format);
    main_raise_nofile(&cfg);
    env->cfg = &cfg;
    env->started_at = time(NULL);
    signal(SIGPIPE, SIG_IGN);
    /* At a file size limit (ulimit -f) a write must fail with EFBIG, which
     * the store turns into `unavailable`, instead of killing the process. */
    signal(SIGXFSZ, SIG_IGN);
    if (evthread_use_pthreads() == -1)
        fatalx("event=start msg=\"libevent has no thread support\"");

    /* Everything that can fail without touching the state comes first
     * (user, listen sockets, TLS files), so a refused start leaves nothing
     * behind: then the lock, the seal key, the database and its keys. */
    main_state_init(&ms, &cfg);
    if (main_resolve_user(&ms, &cfg, &errstr) == -1 ||
        main_resolve_group(&ms, &cfg, &errstr) == -1 ||
        main_make_state_dir(cfg.state_dir, &errstr) == -1 ||
        main_refuse_symlinks(&ms, &cfg, &errstr) == -1) {
        log_error("event=start error=%s", log_quote(errstr, (char[700]){0}, 700));
        goto done;
    }
    if ((env->base = event_base_new()) == NULL ||
        (env->metrics = metrics_new(routes_names(), routes_count + 1, env->started_at)) == NULL) {
        log_error("event=start error=\"out of memory\"");
        goto done;
    }
    if ((env->http = http_start(env, &errstr)) == NULL) {
        log_error("event=start error=%s", log_quote(errstr, (char[512]){0}, 512));
        goto done;
    }
    ms.admin_bound = 1;
    if (main_admin_socket_group(&ms, &cfg, &errstr) == -1) {
        log_error("event=start error=%s", log_quote(errstr, (char[700]){0}, 700));
        goto done;
    }
    store_set_password_file(cfg.database_password_file); /* before the first connection */
    if ((ms.nsf > 0 && store_lock(cfg.database, &ms.lock_fd, &ms.lock_created, &errstr) == -1) ||
        main_check_seal_key(&cfg, &errstr) == -1 ||
        seal_key_load(cfg.seal_key_file, env->seal_key, &created, &errstr) == -1) {
        log_error("event=start error=%s", log_quote(errstr, (char[1000]){0}, 1000));
        goto done;
    }
    if (created)
        log_info("event=seal_key_created path=%s", cfg.seal_key_file);
    if ((env->store = store_open(cfg.database, (int)cfg.busy_timeout_ms, &errstr)) == NULL) {
        log_error("event=start error=%s", log_quote(errstr, (char[512]){0}, 512));
        goto done;
    }
    env->committer = committer_start(cfg.database, (int)cfg.busy_timeout_ms, (int)cfg.commit_batch,
                                     cfg.proofs_per_mp, 2 * cfg.clock_skew_ms + 1000, 0, &errstr);
    if (env->committer == NULL) {
        log_error("event=start error=%s", log_quote(errstr, (char[512]){0}, 512));
        goto done;
    }
    committer_set_delay(env->committer, cfg.commit_delay_ms * 1000);
    memset(&policy, 0, sizeof(policy));
    policy.algorithm = cfg.key_algorithm;
    policy.rotation_period_s = cfg.rotation_period_ms / 1000;
    policy.prepublish_s = cfg.prepublish_ms / 1000;
    policy.skew_s = cfg.clock_skew_ms / 1000;
    policy.max_token_lifetime_s = cfg.client_lifetime_ms / 1000 + cfg.clock_skew_ms / 1000;
    if (cfg.bulk_max_lifetime_ms > cfg.client_lifetime_ms)
        policy.max_token_lifetime_s = (cfg.bulk_max_lifetime_ms + cfg.clock_skew_ms) / 1000;
    if ((env->signer = signer_new(env->seal_key, &policy)) == NULL) {
        log_error("event=start error=\"out of memory\"");
        goto done;
    }
    /* The stored keys must unseal before the lifecycle may add one. */
    if (signer_reload(env->signer, env->store, &errstr) == -1) {
        char why[900];

        snprintf(why, sizeof(why),
                 "%s (seal key file %s, database %s): restore the seal key file backed up with "
                 "this database",
                 errstr, cfg.seal_key_file, cfg.database);
        log_error("event=start error=%s", log_quote(why, (char[1000]){0}, 1000));
        goto done;
    }
    if (maintenance_run_sync(env, &errstr) == -1) {
        log_error("event=start error=%s", log_quote(errstr, (char[512]){0}, 512));
        goto done;
    }
    if ((env->bulkcache = bulkcache_new(4096)) == NULL ||
        (env->clientcache = bulkcache_new(16384)) == NULL ||
        (env->authcache = authcache_new(256)) == NULL || (env->bulkrate = bulkrate_new()) == NULL) {
        log_error("event=start error=\"out of memory\"");
        goto done;
    }
    if ((env->workers = workers_start((int)cfg.workers, cfg.database, (int)cfg.busy_timeout_ms,
                                      &errstr)) == NULL) {
        log_error("event=start error=%s", log_quote(errstr, (char[512]){0}, 512));
        goto done;
    }
    if (ms.has_user) {
        if (main_drop_privileges(&ms, &cfg, &errstr) == -1) {
            log_error("event=start error=%s", log_quote(errstr, (char[512]){0}, 512));
            goto done;
        }
        log_info("event=privileges_dropped user=%s uid=%ld", cfg.user, (long)geteuid());
    }
    if ((env->feed = feed_new(env)) == NULL) {
        log_error("event=start error=\"cannot start the revocation feed\"");
        goto done;
    }
    ev_term = evsignal_new(env->base, SIGTERM, main_signal_cb, env);
    ev_int = evsignal_new(env->base, SIGINT, main_signal_cb, env);
    ev_hup = evsignal_new(env->base, SIGHUP, main_hup_cb, env);
    if ((maint = maintenance_start(env)) == NULL) {
        log_error("event=start error=\"cannot start the maintenance timer\"");
        goto done;
    }
    if (ev_term == NULL || ev_int == NULL || ev_hup == NULL || evsignal_add(ev_term, NULL) == -1 ||
        evsignal_add(ev_int, NULL) == -1 || evsignal_add(ev_hup, NULL) == -1) {
        log_error("event=start error=\"cannot install signal handlers\"");
        goto done;
    }
    log_info("event=start version=%s site=%s config=%s database=%s schema=%d", SITETOKEN_VERSION,
             cfg.site_code, log_quote(cfg.source, (char[512]){0}, 512),
             log_quote(cfg.database, (char[512]){0}, 512), store_schema_version(env->store));
    log_raw("ready: listening on %s", http_describe(env->http));
    main_notify("READY=1");

    if (event_base_dispatch(env->base) == -1) {
        log_error("event=loop error=\"event loop failed\"");
        goto done;
    }
    log_info("event=stopped inflight=%d", http_inflight(env->http));
    rc = 0;
done:
    if (ev_term != NULL)
        event_free(ev_term);
    if (ev_int != NULL)
        event_free(ev_int);
    if (ev_hup != NULL)
        event_free(ev_hup);
    maintenance_free(maint);
    /* Drain the threads first: what they finish is handed back to the loop,
     * which runs once more so no op is left undelivered (or leaked). */
    workers_stop(env->workers);
    committer_stop(env->committer);
    if (env->base != NULL)
        event_base_loop(env->base, EVLOOP_NONBLOCK);
    feed_free(env->feed);
    publish_free(env->publish);
    ops_free(env->ops);
    http_free(env->http);
    signer_free(env->signer);
    bulkcache_free(env->bulkcache);
    bulkcache_free(env->clientcache);
    authcache_free(env->authcache);
    bulkrate_free(env->bulkrate);
    store_close(env->store);
    main_state_release(&ms, &cfg, rc != 0);
    metrics_free(env->metrics);
    if (env->base != NULL)
        event_base_free(env->base);
    OPENSSL_cleanse(env->seal_key, sizeof(env->seal_key));
    config_free(&cfg);
    return rc;
}
