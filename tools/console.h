/* `sitetokenctl ui`: the web console. Serves the embedded pages on
 * 127.0.0.1 and relays their API calls to the admin socket. */
#ifndef SITETOKEN_CONSOLE_H
#define SITETOKEN_CONSOLE_H

/* Runs until SIGINT/SIGTERM. argv: [--port N] [--session-idle SECONDS].
 * Returns the exit status (0, 1 on a start-up failure, 2 on usage). */
int console_run(const char *admin_socket, int argc, char **argv);

#endif
