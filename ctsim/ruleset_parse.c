/* SPDX-License-Identifier: GPL-2.0-or-later */
/* placeholder: being written */
typedef int ctsim_placeholder_ruleset_parse_t;
