/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd.h — ctsim's subcommands besides the daemon itself (`ctsim VERB ...`).
 * Each returns the process exit status: 0 ok, 1 failure, 2 usage error.
 */
#ifndef CTSIM_CMD_H
#define CTSIM_CMD_H

/** cmd_ruleset - `ctsim ruleset check|show FILE`: parse a ruleset only. */
int cmd_ruleset(int argc, char **argv);

/** cmd_lab - `ctsim lab down [--prefix P]`: remove a lab's namespaces. */
int cmd_lab(int argc, char **argv);

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
