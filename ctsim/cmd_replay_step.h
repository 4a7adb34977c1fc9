/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cmd_replay_step.h — `ctsim replay FILE --step | --quiz` (cmd_replay_step.c).
 */
#ifndef CTSIM_CMD_REPLAY_STEP_H
#define CTSIM_CMD_REPLAY_STEP_H

#include <stdbool.h>

#include "ctsim/core/settings.h"
#include "ctsim/replay/harness.h"

/* The seed of `ctsim replay` (cmd_replay.c): stepping gives the same ids. */
#define REPLAY_STEP_SEED	0x63747369u

/* What cmd_replay parsed, for the interactive modes. */
struct replay_step_cfg {
	const char *path;		/* the capture */
	const char *ruleset_path;	/* NULL: the built-in firewall */
	struct ct_settings settings;	/* after --set */
	struct ct_offline_if ifs[2];	/* after --topology */
	bool quiz;			/* --quiz, else --step */
};

/**
 * replay_step_run - the interactive step (or quiz) mode over the capture
 * @cfg->path, commands read from stdin, output on stdout (see
 * cmd_replay_step.c and docs/replay.md). The whole capture is read first.
 * Returns 0, or 1 after an error (printed on stderr).
 */
int replay_step_run(const struct replay_step_cfg *cfg);

#endif
