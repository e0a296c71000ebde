/* Per-thread CPU of another process, from /proc/PID/task/TID/schedstat (ns;
 * stat's ticks split it into user and system), summed by
 * thread role (sitetokend names its threads: st-worker-N, st-writer,
 * st-checkpoint; the event loop is the main thread). The benchmark takes one
 * snapshot before a run and one after and reports the difference per request. */
#ifndef SITETOKEN_BENCH_CPU_H
#define SITETOKEN_BENCH_CPU_H

enum bench_cpu_role {
    BENCH_CPU_LOOP,    /* the main thread: event loop */
    BENCH_CPU_WORKERS, /* st-worker-* */
    BENCH_CPU_WRITER,  /* st-writer */
    BENCH_CPU_OTHER,   /* st-checkpoint and anything else */
    BENCH_CPU_ROLES
};

struct bench_cpu {
    int valid;
    double s[BENCH_CPU_ROLES];   /* user + system seconds by role */
    double sys[BENCH_CPU_ROLES]; /* system seconds by role */
};

/* The role's name in reports ("loop", "workers", "writer", "other"). */
const char *bench_cpu_role_name(enum bench_cpu_role r);

/* Fills c from pid's threads; c->valid is 0 when pid <= 0 or /proc is not
 * readable. Threads that exited between snapshots are not counted. */
void bench_cpu_snapshot(long pid, struct bench_cpu *c);

/* User + system seconds of this process, and of process pid (-1 when it
 * cannot be read), for the CPU shares every scenario reports. */
double bench_cpu_self(void);
double bench_cpu_of(long pid);

/* User + system seconds of process pid and of its children (a PostgreSQL
 * postmaster and its backends, WAL writer, checkpointer...), the system
 * seconds in *sys; -1 when pid cannot be read. A child that exited between
 * two readings is not counted (sitetokend's sessions last). */
double bench_cpu_tree(long pid, double *sys);

#define BENCH_CPU_SERVERS 8 /* --server-pid given at most this often */

/* The CPU of a run's servers (each by thread role, and their processes
 * summed) and of a database's processes, from just before the load to just
 * after it. Set nservers, pids and db_pid; begin, run, end. */
struct bench_cpu_run {
    int nservers;
    long pids[BENCH_CPU_SERVERS];
    long db_pid; /* 0: none */
    struct bench_cpu before[BENCH_CPU_SERVERS], after[BENCH_CPU_SERVERS];
    double servers_s;      /* summed user + system seconds; < 0 when unknown */
    double db_s, db_sys_s; /* db_pid and its children; db_s < 0 when unknown */
    double servers0, db0, db_sys0;
};

void bench_cpu_run_begin(struct bench_cpu_run *r);
void bench_cpu_run_end(struct bench_cpu_run *r);

#endif
