/* The load generator's report: one JSON object (--json) or lines for people. */
#ifndef SITETOKEN_BENCH_REPORT_H
#define SITETOKEN_BENCH_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "bench_cpu.h"
#include "bench_floor.h"
#include "bench_load.h"

/* Everything reported; all borrowed. */
struct bench_summary {
    const char *scenario; /* NULL when no scenario ran (--floor alone) */
    const char *alg;
    int connections;
    double target_rate; /* open loop; 0 for a closed loop */
    const struct bench_load_result *res;
    uint64_t verified; /* token signatures checked */
    size_t premade;    /* requests with unique proofs made ahead */
    int ran_out;       /* the pre-made requests ran out before the duration */
    double setup_s, client_cpu_s;
    double server_cpu_s; /* < 0 when unknown */
    /* each sitetokend (server_pids[0..nservers)) by thread role, before/after */
    const struct bench_cpu *threads0, *threads1;
    const long *server_pids;
    int nservers;
    const char *const *urls; /* urls[i] answered res->by_url[i] */
    int nurls;
    double db_cpu_s, db_sys_s;    /* --db-pid and its children; db_cpu_s < 0 when unknown */
    const struct bench_floor *fl; /* NULL when not measured */
};

void bench_report_json(const struct bench_summary *s);
void bench_report_text(const struct bench_summary *s);

#endif
