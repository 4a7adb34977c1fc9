/* SPDX-License-Identifier: GPL-2.0-or-later */
/* placeholder: being written */
typedef int ctsim_placeholder_pipeline_t;
