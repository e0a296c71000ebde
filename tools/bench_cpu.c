/* Per-thread CPU of sitetokend by thread role, from /proc (bench_cpu.h): the
 * benchmark's "where the time goes" table comes from two snapshots. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench_cpu.h"

static const struct {
    const char *prefix; /* thread name (comm) prefix */
    enum bench_cpu_role role;
} bench_cpu_roles[] = {
    {"st-worker", BENCH_CPU_WORKERS},
    {"st-writer", BENCH_CPU_WRITER},
    {"st-", BENCH_CPU_OTHER},
};

static const char *bench_cpu_names[BENCH_CPU_ROLES] = {
    [BENCH_CPU_LOOP] = "loop",
    [BENCH_CPU_WORKERS] = "workers",
    [BENCH_CPU_WRITER] = "writer",
    [BENCH_CPU_OTHER] = "other",
};

const char *
bench_cpu_role_name(enum bench_cpu_role r)
{
    return r < BENCH_CPU_ROLES ? bench_cpu_names[r] : "?";
}

static enum bench_cpu_role
bench_cpu_role_of(long pid, long tid, const char *comm)
{
    if (tid == pid)
        return BENCH_CPU_LOOP;
    for (size_t i = 0; i < sizeof(bench_cpu_roles) / sizeof(bench_cpu_roles[0]); i++)
        if (strncmp(comm, bench_cpu_roles[i].prefix, strlen(bench_cpu_roles[i].prefix)) == 0)
            return bench_cpu_roles[i].role;
    return BENCH_CPU_OTHER;
}

void
bench_cpu_snapshot(long pid, struct bench_cpu *c)
{
    char path[96], buf[1024], *open, *close;
    double tck = (double)sysconf(_SC_CLK_TCK);
    unsigned long long ut, st, ns;
    double cpu, sys;
    struct dirent *de;
    DIR *dir;
    FILE *f;
    size_t n;

    memset(c, 0, sizeof(*c));
    if (pid <= 0)
        return;
    snprintf(path, sizeof(path), "/proc/%ld/task", pid);
    if ((dir = opendir(path)) == NULL)
        return;
    while ((de = readdir(dir)) != NULL) {
        long tid;
        enum bench_cpu_role role;

        if (sscanf(de->d_name, "%ld", &tid) != 1)
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/task/%ld/stat", pid, tid);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* "tid (comm) state ... 14 utime 15 stime" */
        if ((open = strchr(buf, '(')) == NULL || (close = strrchr(buf, ')')) == NULL ||
            close < open)
            continue;
        *close = '\0';
        if (sscanf(close + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) !=
            2)
            continue;
        role = bench_cpu_role_of(pid, tid, open + 1);
        cpu = (double)(ut + st) / tck;
        sys = (double)st / tck;
        /* utime and stime count whole clock ticks (10 ms): a thread that ran
         * 20 ms may read 0. schedstat's first field is its time on a CPU in
         * ns; the system ticks stay the kernel's share (coarse: the report
         * clamps it to 1). */
        snprintf(path, sizeof(path), "/proc/%ld/task/%ld/schedstat", pid, tid);
        if ((f = fopen(path, "r")) != NULL) {
            if (fscanf(f, "%llu", &ns) == 1 && ns > 0)
                cpu = (double)ns / 1e9;
            fclose(f);
        }
        c->s[role] += cpu;
        c->sys[role] += sys;
    }
    closedir(dir);
    c->valid = 1;
}

double
bench_cpu_self(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Reads /proc/PID/stat: its parent, utime and stime in ticks. 0/-1. */
static int
bench_cpu_stat(long pid, long *ppid, unsigned long long *ut, unsigned long long *st)
{
    char path[64], buf[1024], *p;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command's closing parenthesis: 3 state 4 ppid ... 14 utime 15 stime. */
    if ((p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", ppid, ut, st) != 3)
        return -1;
    return 0;
}

/* utime + stime of pid in seconds, or -1. */
double
bench_cpu_of(long pid)
{
    unsigned long long ut, st;
    long ppid;

    if (pid <= 0 || bench_cpu_stat(pid, &ppid, &ut, &st) == -1)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double
bench_cpu_tree(long pid, double *sys)
{
    double tck = (double)sysconf(_SC_CLK_TCK);
    unsigned long long ut, st, all = 0, kernel = 0;
    struct dirent *de;
    long child, ppid;
    DIR *dir;

    *sys = 0;
    if (pid <= 0 || bench_cpu_stat(pid, &ppid, &ut, &st) == -1 || (dir = opendir("/proc")) == NULL)
        return -1;
    all = ut + st;
    kernel = st;
    while ((de = readdir(dir)) != NULL) {
        if (sscanf(de->d_name, "%ld", &child) != 1 || child == pid ||
            bench_cpu_stat(child, &ppid, &ut, &st) == -1 || ppid != pid)
            continue;
        all += ut + st;
        kernel += st;
    }
    closedir(dir);
    *sys = (double)kernel / tck;
    return (double)all / tck;
}

/* Summed CPU seconds of every server, or -1 when one cannot be read. */
static double
bench_cpu_servers(const struct bench_cpu_run *r)
{
    double sum = 0, one;
    int i;

    if (r->nservers == 0)
        return -1;
    for (i = 0; i < r->nservers; i++) {
        if ((one = bench_cpu_of(r->pids[i])) < 0)
            return -1;
        sum += one;
    }
    return sum;
}

void
bench_cpu_run_begin(struct bench_cpu_run *r)
{
    int i;

    r->servers0 = bench_cpu_servers(r);
    for (i = 0; i < r->nservers; i++)
        bench_cpu_snapshot(r->pids[i], &r->before[i]);
    r->db0 = r->db_pid > 0 ? bench_cpu_tree(r->db_pid, &r->db_sys0) : -1;
    r->servers_s = r->db_s = -1;
}

void
bench_cpu_run_end(struct bench_cpu_run *r)
{
    double cpu, sys = 0;
    int i;

    cpu = bench_cpu_servers(r);
    r->servers_s = cpu >= 0 && r->servers0 >= 0 ? cpu - r->servers0 : -1;
    for (i = 0; i < r->nservers; i++)
        bench_cpu_snapshot(r->pids[i], &r->after[i]);
    if (r->db0 >= 0 && (cpu = bench_cpu_tree(r->db_pid, &sys)) >= 0) {
        r->db_s = cpu - r->db0;
        r->db_sys_s = sys - r->db_sys0;
    }
}
