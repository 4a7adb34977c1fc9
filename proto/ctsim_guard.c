/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctsim_guard.c — ctsim-exec's launcher: run a program so that its
 * netfilter netlink traffic can never reach the host kernel.
 *
 *     ctsim-exec-guard COMMAND [ARG...]
 *
 * The LD_PRELOAD shim (shim.c) turns every socket(AF_NETLINK, …,
 * NETLINK_NETFILTER) made through libc into a connection to ctsim, so the
 * shim itself never asks the kernel for such a socket. Programs that do not
 * go through libc's socket() — statically linked programs, Go's runtime,
 * anything using syscall(2) — would get a real one and read or change the
 * host's conntrack table. This launcher installs a seccomp filter before
 * exec'ing COMMAND that refuses, in the kernel, every socket() system call
 * whose family is AF_NETLINK and protocol NETLINK_NETFILTER: the kernel's
 * nfnetlink is unreachable for COMMAND and all its descendants (a seccomp
 * filter is inherited across fork/clone/execve and cannot be removed). No
 * option or environment variable turns it off.
 *
 * The filter (default: allow):
 *   - socket(AF_NETLINK, *, NETLINK_NETFILTER) -> EPERM. The comparison
 *     looks at the low 32 bits only, as __sys_socket() reads int arguments:
 *     garbage in the upper half of the registers cannot slip past it.
 *   - io_uring_setup() -> ENOSYS: IORING_OP_SOCKET (Linux >= 5.19) creates
 *     sockets without the socket() system call, out of seccomp's sight.
 *     Programs fall back to plain system calls on ENOSYS.
 *   - other ABIs than the native one (i386 socketcall(), whose arguments a
 *     filter cannot inspect; x32) -> the process is killed (SIGSYS).
 *
 * NO_NEW_PRIVS: seccomp needs it unless the caller has CAP_SYS_ADMIN. As
 * root the filter is loaded without it, so setuid programs keep working
 * under ctsim-exec; otherwise it is set (a setuid program then runs without
 * its privileges, which is safe).
 *
 * Exit status: COMMAND's (exec), 127 if the filter cannot be installed or
 * COMMAND cannot be run, with one line on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <seccomp.h>

#define PROG "ctsim-exec"

/* Build the filter described above. Returns the context or NULL (errno). */
static scmp_filter_ctx build_filter(int nnp)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx) {
		errno = ENOMEM;
		return NULL;
	}
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, nnp);
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 2,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_NETLINK),
				     SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, NETLINK_NETFILTER));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_uring_setup), 0);
	if (r < 0) {
		seccomp_release(ctx);
		errno = -r;
		return NULL;
	}
	return ctx;
}

/*
 * Install the filter in this process. Without NO_NEW_PRIVS first when we
 * are root; if the kernel refuses that (no CAP_SYS_ADMIN, e.g. in a user
 * namespace), with it. Returns 0 or -1 with errno.
 */
static int install_filter(void)
{
	for (int nnp = geteuid() == 0 ? 0 : 1; nnp <= 1; nnp++) {
		scmp_filter_ctx ctx = build_filter(nnp);
		int r;

		if (!ctx)
			return -1;
		r = seccomp_load(ctx);
		seccomp_release(ctx);
		if (r == 0)
			return 0;
		if (r != -EACCES || nnp) {
			errno = -r;
			return -1;
		}
	}
	errno = EACCES;
	return -1;
}

int main(int argc, char **argv)
{
	int arg = 1;

	if (arg < argc && strcmp(argv[arg], "--") == 0)
		arg++;
	if (arg >= argc) {
		fprintf(stderr, "usage: ctsim-exec-guard COMMAND [ARG...]\n");
		return 2;
	}
	if (install_filter() < 0) {
		fprintf(stderr, "%s: cannot install the seccomp filter that keeps %s away "
			"from the kernel's conntrack: %s\n", PROG, argv[arg], strerror(errno));
		return 127;
	}
	execvp(argv[arg], argv + arg);
	fprintf(stderr, "%s: %s: %s\n", PROG, argv[arg], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
