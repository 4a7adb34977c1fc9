/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd.h — ctsim's subcommands besides the daemon itself (`ctsim VERB ...`).
 * Each returns the process exit status: 0 ok, 1 failure, 2 usage error.
 */
#ifndef CTSIM_CMD_H
#define CTSIM_CMD_H

#include <stddef.h>

/** cmd_ruleset - `ctsim ruleset check|show FILE`: parse a ruleset only. */
int cmd_ruleset(int argc, char **argv);

/** cmd_lab - `ctsim lab start DIR | check [DIR|NN] | down [--prefix P]`:
 *  the course's labs (docs/labs/README.md). */
int cmd_lab(int argc, char **argv);

/** cmd_lab_check - `ctsim lab check [DIR|NN] [--socket PATH]` (argv from
 *  "check" on): 0 when every check of the lab holds, 1 when one fails, 2
 *  for a bad command line or check file. */
int cmd_lab_check(int argc, char **argv);

/** lab_side_path - the lab's file next to the daemon's socket:
 *  "SOCKET.SUFFIX" ("journal": the event journal, "lab": the running
 *  lab's directory and prefix). 0, or -1 if it does not fit @len. */
int lab_side_path(char *buf, size_t len, const char *socket, const char *suffix);

/** lab_resolve_dir - @arg as a lab directory: a directory, or a number NN
 *  naming NN-* under $CTSIM_LABS or ./docs/labs. Writes the absolute path
 *  to @out (PATH_MAX bytes); 0, or -1 if there is no such lab. */
int lab_resolve_dir(const char *arg, char *out, size_t len);

/** cmd_classroom - `ctsim classroom start N [DIR] | list | down`: N
 *  independent labs, one per student (own prefix, own socket); docs/lab.md. */
int cmd_classroom(int argc, char **argv);

/** cmd_replay - `ctsim replay FILE.pcap [options]`: see docs/replay.md. */
int cmd_replay(int argc, char **argv);

/** cmd_scenario - `ctsim scenario run|check|export`: see docs/scenarios.md. */
int cmd_scenario(int argc, char **argv);

/** cmd_explain - `ctsim explain tcp`: print the TCP transition table with
 *  the reason for every cell (a teaching view). */
int cmd_explain(int argc, char **argv);

/** cmd_pressure - `ctsim pressure`: the table-full workload under each
 *  overflow policy, side by side (docs/pressure.md). */
int cmd_pressure(int argc, char **argv);

#endif
