/* sitetoken-gateway(8), written from the gateway's own tables at build time
 * (sitetoken-gateway --man), as sitetokend's pages are from its. */
#ifndef SITETOKEN_GW_MAN_H
#define SITETOKEN_GW_MAN_H

#include <stdio.h>

void gw_man_write(FILE *out);

#endif
