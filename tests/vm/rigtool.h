/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Error exits shared by the rig's C programs: "<program>: message" on stderr,
 * exit 1 for a failure, exit 2 (with a hint at --help) for a bad command line.
 */
#ifndef RIGTOOL_H
#define RIGTOOL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void vsay(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
}

static __attribute__((noreturn, format(printf, 1, 2)))
void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static __attribute__((noreturn, format(printf, 1, 2)))
void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", program_invocation_short_name);
	exit(2);
}

#endif /* RIGTOOL_H */
